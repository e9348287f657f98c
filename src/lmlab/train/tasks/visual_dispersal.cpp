// X-VD and I-VD building blocks (formulas in visual_dispersal.h).
#include "lmlab/train/tasks/visual_dispersal.h"

#include <algorithm>

namespace lmlab::train {

torch::Tensor prediction_entropy(const torch::Tensor& probs) { return -(probs * torch::log(probs + 1e-5)).sum(1); }

torch::Tensor entropy_ranking(const torch::Tensor& entropy) {
  return std::get<1>(entropy.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
}

torch::Tensor confident_mask(const torch::Tensor& entropy, double ratio) {
  const int64_t N = entropy.size(0), top = static_cast<int64_t>(static_cast<double>(N) * ratio);
  torch::Tensor mask = torch::zeros({N}, entropy.options().dtype(torch::kFloat32));
  mask.index_fill_(0, entropy_ranking(entropy).slice(0, 0, top), 1.0);
  return mask;
}

ConfidenceSplit three_way_split(const torch::Tensor& entropy, double inside_ratio, double inside_confidence) {
  const int64_t N = entropy.size(0);
  const auto easy = static_cast<int64_t>(static_cast<double>(N) * inside_ratio);
  const auto kept = std::max(easy, static_cast<int64_t>(static_cast<double>(N) * inside_confidence));
  torch::Tensor order = entropy_ranking(entropy);
  return {order.slice(0, 0, easy), order.slice(0, easy, kept), order.slice(0, kept, N)};
}

torch::Tensor nearest_source(const torch::Tensor& target_features, const torch::Tensor& source_features) {
  // |t - s|^2 = |t|^2 + |s|^2 - 2 t.s; |t|^2 is the same for every s and does not change the argmin.
  torch::Tensor d = source_features.pow(2).sum(1).unsqueeze(0) - 2 * target_features.matmul(source_features.t());
  return d.argmin(1);  // (N)
}

torch::Tensor mix_lambdas(int64_t n, double alpha) {
  torch::Tensor a = at::_standard_gamma(torch::full({n}, alpha, torch::kFloat64));
  torch::Tensor b = at::_standard_gamma(torch::full({n}, alpha, torch::kFloat64));
  torch::Tensor l = a / (a + b);
  return torch::maximum(l, 1 - l).to(torch::kFloat32);
}

Mixed mix(const torch::Tensor& x1, const torch::Tensor& y1, const torch::Tensor& x2, const torch::Tensor& y2,
          const torch::Tensor& lambdas, int64_t n_classes) {
  namespace F = torch::nn::functional;
  std::vector<int64_t> shape(static_cast<size_t>(x1.dim()), 1);
  shape[0] = x1.size(0);
  torch::Tensor l = lambdas.to(x1.device()).view(shape);
  torch::Tensor lc = lambdas.to(x1.device()).unsqueeze(1);
  auto onehot = [&](const torch::Tensor& y) { return F::one_hot(y, n_classes).to(torch::kFloat32); };
  return {l * x1 + (1 - l) * x2, lc * onehot(y1) + (1 - lc) * onehot(y2)};
}

torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft) {
  return -(soft * torch::log_softmax(logits, 1)).sum(1);
}

torch::Tensor masked_mean(const torch::Tensor& per_row, const torch::Tensor& mask) {
  torch::Tensor m = mask.to(per_row.dtype());
  torch::Tensor count = m.sum();
  return torch::where(count > 0, (per_row * m).sum() / count.clamp_min(1), torch::zeros_like(count));
}

std::vector<int64_t> RowCycler::next() {
  if (rows_.empty()) return {};
  if (pos_ >= order_.size()) {
    order_ = rows_;
    for (size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[rng_() % (i + 1)]);
    pos_ = 0;
  }
  const size_t end = std::min(order_.size(), pos_ + static_cast<size_t>(batch_));
  std::vector<int64_t> out(order_.begin() + static_cast<std::ptrdiff_t>(pos_), order_.begin() + static_cast<std::ptrdiff_t>(end));
  pos_ = end;
  return out;
}

}  // namespace lmlab::train
