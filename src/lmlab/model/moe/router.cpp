// Top-k / top-p routing, the balance loss, capacity dropping and routing statistics.
#include "lmlab/model/moe/router.h"

#include <algorithm>
#include <cmath>

namespace lmlab::model::moe {

namespace {
// probs with each token's argmax set to 0, so it can no longer be chosen.
torch::Tensor without_top1(const torch::Tensor& probs) {
  return probs.scatter(1, probs.argmax(1, /*keepdim=*/true), 0.0);
}

// Assignments per expert, unused slots (-1) not counted. A scatter-add into E + 1 bins (bin 0
// takes the unused slots) has a fixed output size, so unlike masked_select or bincount it never
// waits for the device to learn one.
torch::Tensor expert_counts(const torch::Tensor& experts, int64_t n_experts) {
  auto flat = experts.reshape(-1) + 1;  // (k*N), 0 = unused
  auto bins = torch::zeros({n_experts + 1}, flat.options()).scatter_add_(0, flat, torch::ones_like(flat));
  return bins.narrow(0, 1, n_experts).to(torch::kFloat);  // (E)
}
}  // namespace

Routing route_topk(const torch::Tensor& probs, int64_t k, bool renormalize, bool disable_top1) {
  auto sel = disable_top1 ? without_top1(probs) : probs;
  auto idx = std::get<1>(sel.topk(k, 1));  // (N, k)
  auto w = sel.gather(1, idx);
  auto unused = w.eq(0);
  if (renormalize && k > 1) w = w / w.sum(1, /*keepdim=*/true).clamp_min(1e-9);
  return {idx.masked_fill(unused, -1), w.masked_fill(unused, 0.0), probs};
}

Routing route_topp(const torch::Tensor& probs, double p, bool disable_top1) {
  auto sel = disable_top1 ? without_top1(probs) : probs;
  auto sorted = sel.sort(1, /*descending=*/true);
  auto w = std::get<0>(sorted), idx = std::get<1>(sorted);  // (N, E)
  auto mass_before = w.detach().cumsum(1) - w.detach();
  auto keep = mass_before.le(p).logical_and(w.detach().gt(0));  // a prefix of each row
  int64_t width = std::max<int64_t>(keep.sum(1).max().item<int64_t>(), 1);
  keep = keep.narrow(1, 0, width);
  return {idx.narrow(1, 0, width).masked_fill(keep.logical_not(), -1),
          w.narrow(1, 0, width).masked_fill(keep.logical_not(), 0.0), probs};
}

torch::Tensor balance_loss(const Routing& r, int64_t n_experts) {
  auto counts = expert_counts(r.experts, n_experts).to(r.probs.device());
  auto f = counts / counts.sum().clamp_min(1.0);  // (E)
  auto P = r.probs.to(torch::kFloat).mean(0);     // (E)
  return static_cast<double>(n_experts) * (f * P).sum();
}

int64_t expert_capacity(double factor, int64_t tokens, int64_t k, int64_t n_experts) {
  return static_cast<int64_t>(std::ceil(factor * static_cast<double>(tokens * k) / static_cast<double>(n_experts)));
}

torch::Tensor apply_capacity(Routing& r, int64_t n_experts, int64_t capacity) {
  // Position of each assignment in its expert's queue, slot-major (all first choices first).
  auto order = r.experts.t().reshape(-1);  // (k*N)
  auto valid = order.ge(0);
  auto onehot = torch::zeros({order.size(0), n_experts}, torch::TensorOptions().dtype(torch::kLong).device(order.device()));
  onehot.scatter_(1, order.clamp_min(0).unsqueeze(1), valid.to(torch::kLong).unsqueeze(1));
  auto position = onehot.cumsum(0).gather(1, order.clamp_min(0).unsqueeze(1)).squeeze(1) - 1;
  auto drop = valid.logical_and(position.ge(capacity));
  drop = drop.view({r.experts.size(1), r.experts.size(0)}).t();  // (N, k)
  r.experts = r.experts.masked_fill(drop, -1);
  r.weights = r.weights.masked_fill(drop, 0.0);
  return drop.sum();
}

void record_routing_stats(const Routing& r, int64_t n_experts, DeferredStats& out) {
  auto counts = expert_counts(r.experts.detach(), n_experts).to(torch::kDouble);  // (E)
  auto total = counts.sum();
  const int64_t tokens = r.experts.size(0);
  out.set("load", counts / total.clamp_min(1.0));  // all zeros when nothing was routed
  out.set("tokens", tokens);
  out.set("experts_per_token", total / static_cast<double>(std::max<int64_t>(tokens, 1)));
  if (r.probs.defined()) {
    auto p = r.probs.detach().to(torch::kDouble);
    out.set("entropy", (-(p * p.clamp_min(1e-30).log()).sum(1)).mean());
  }
}

}  // namespace lmlab::model::moe
