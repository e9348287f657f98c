// PCS memory banks, clustering, losses and cosine classifier (formulas in pcs.h).
#include "lmlab/train/tasks/pcs.h"

#include <limits>
#include <random>

namespace lmlab::train {

namespace F = torch::nn::functional;

namespace {
torch::Tensor unit_rows(const torch::Tensor& x) { return F::normalize(x, F::NormalizeFuncOptions().dim(1)); }

// Cluster logits f.mu_j / phi_j (B, k) with empty clusters at -inf.
torch::Tensor cluster_logits(const torch::Tensor& f, const Clustering& c) {
  torch::Tensor phi = c.phi.to(f.device());
  torch::Tensor logits = f.matmul(c.centroids.to(f.device()).t()) / phi.clamp_min(1e-12).unsqueeze(0);
  return logits.masked_fill(phi.eq(0).unsqueeze(0), -std::numeric_limits<float>::infinity());
}
}  // namespace

torch::Tensor bank_update(const torch::Tensor& rows, const torch::Tensor& features, double m) {
  return unit_rows(rows * m + unit_rows(features) * (1 - m));
}

torch::Tensor cluster_concentration(const torch::Tensor& x, const torch::Tensor& labels, const torch::Tensor& centroids,
                                    double alpha) {
  const int64_t k = centroids.size(0);
  torch::Tensor dist = (x - centroids.index_select(0, labels)).norm(2, 1);  // (N)
  torch::Tensor sum = torch::zeros({k}, x.options()).index_add_(0, labels, dist);
  torch::Tensor n = torch::zeros({k}, x.options()).index_add_(0, labels, torch::ones_like(dist));
  torch::Tensor phi = (sum / (n * torch::log(n + alpha))).clamp_min(0.05);
  phi = torch::where(n.eq(1), torch::full_like(phi, 0.05), phi);
  return torch::where(n.eq(0), torch::zeros_like(phi), phi);
}

Clustering spherical_kmeans(const torch::Tensor& x, int64_t k, int64_t iters, uint64_t seed, double alpha) {
  const int64_t N = x.size(0);
  TORCH_CHECK(k >= 1 && k <= N, "spherical_kmeans: k = ", k, " needs 1..", N, " points");
  std::vector<int64_t> perm(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) perm[i] = i;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 7);
  for (int64_t i = 0; i < k; ++i) std::swap(perm[i], perm[i + static_cast<int64_t>(rng() % (N - i))]);
  perm.resize(static_cast<size_t>(k));
  torch::Tensor mu = x.index_select(0, torch::tensor(perm, torch::kInt64)).clone();  // (k, d)
  auto assign = [&](torch::Tensor& best) { return std::get<1>((best = x.matmul(mu.t())).max(1)); };
  torch::Tensor sim, labels;
  for (int64_t it = 0; it < iters; ++it) {
    labels = assign(sim);                                                        // (N)
    torch::Tensor sums = torch::zeros_like(mu).index_add_(0, labels, x);         // (k, d)
    torch::Tensor counts = torch::bincount(labels, {}, k);                       // (k)
    torch::Tensor own = sim.gather(1, labels.unsqueeze(1)).squeeze(1).clone();   // (N) cosine to own centroid
    mu = unit_rows(sums);
    for (int64_t c = 0; c < k; ++c) {
      if (counts[c].item<int64_t>() > 0) continue;
      const int64_t far = own.argmin().item<int64_t>();
      mu[c] = x[far];
      own[far] = std::numeric_limits<float>::infinity();
    }
  }
  labels = assign(sim);
  return {labels, mu, cluster_concentration(x, labels, mu, alpha)};
}

torch::Tensor proto_loss(const torch::Tensor& f, const torch::Tensor& rows, const std::vector<Clustering>& runs) {
  torch::Tensor total = torch::zeros({}, f.options());
  for (const Clustering& c : runs) {
    torch::Tensor own = c.labels.to(f.device()).index_select(0, rows);  // (B)
    total = total + F::cross_entropy(cluster_logits(f, c), own);
  }
  return total / static_cast<double>(runs.size());
}

torch::Tensor i2c_loss(const torch::Tensor& f, const std::vector<Clustering>& other, double t) {
  torch::Tensor total = torch::zeros({}, f.options());
  for (const Clustering& c : other) {
    torch::Tensor logp = torch::log_softmax(f.matmul(c.centroids.to(f.device()).t()) / t, 1);  // (B, k)
    total = total - (logp.exp() * logp).sum(1).mean();
  }
  return total / static_cast<double>(other.size());
}

torch::Tensor mean_entropy(const torch::Tensor& logits) {
  torch::Tensor p = torch::softmax(logits, 1);
  return -(p * torch::log(p + 1e-5)).sum(1).mean();
}

torch::Tensor MomentumSoftmax::condentmax(const torch::Tensor& logits) {
  const auto b = static_cast<double>(logits.size(0));
  torch::Tensor pbar = torch::softmax(logits, 1).mean(0);  // (C)
  v_ = (v_ * n_ + pbar.detach().cpu() * b) / (n_ + b);
  n_ += b;
  return (pbar * torch::log(v_.to(pbar.device()) + 1e-5)).sum();
}

CosineClassifierImpl::CosineClassifierImpl(int64_t dim, int64_t n_classes, double temperature)
    : temperature_(temperature) {
  weight = register_parameter("weight", torch::empty({n_classes, dim}));
  torch::nn::init::xavier_normal_(weight);  // as PCS's weights_init for Linear layers
}

torch::Tensor CosineClassifierImpl::forward(const torch::Tensor& f) {
  {
    torch::NoGradGuard no_grad;
    weight.set_data(unit_rows(weight));
  }
  return unit_rows(f).matmul(weight.t()) / temperature_;
}

int64_t CosineClassifierImpl::load_prototypes(const torch::Tensor& bank, const torch::Tensor& labels, int64_t min_count) {
  torch::NoGradGuard no_grad;
  int64_t set = 0;
  for (int64_t c = 0; c < weight.size(0); ++c) {
    torch::Tensor members = labels.eq(c).nonzero().squeeze(1);
    if (members.size(0) < std::max<int64_t>(1, min_count)) continue;
    weight[c].copy_(F::normalize(bank.index_select(0, members).mean(0), F::NormalizeFuncOptions().dim(0)));
    ++set;
  }
  return set;
}

}  // namespace lmlab::train
