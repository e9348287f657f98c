// Sorted gather / per-expert matmul / deterministic combine (see dispatch.h).
#include "lmlab/model/moe/dispatch.h"

#include <vector>

namespace lmlab::model::moe {

torch::Tensor dispatch_combine(const torch::Tensor& u, const torch::Tensor& experts, const torch::Tensor& weights,
                               int64_t n_experts, const ExpertFn& fn) {
  const int64_t N = experts.size(0), k = experts.size(1), C = u.size(1);
  auto flat = experts.reshape(-1);                            // (N*k)
  auto slots = flat.ge(0).nonzero().squeeze(1);               // (M) routed assignments
  auto slot_expert = flat.index_select(0, slots);             // (M)
  auto order = std::get<1>(slot_expert.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  auto sorted_slots = slots.index_select(0, order);           // (M), grouped by expert
  auto sorted_tokens = sorted_slots.div(k, "floor");
  auto counts = torch::bincount(slot_expert, {}, n_experts).cpu();
  std::vector<int64_t> sizes(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + n_experts);

  auto x = u.index_select(0, sorted_tokens);                  // (M, C)
  auto blocks = x.split_with_sizes(sizes, 0);
  std::vector<torch::Tensor> outs;
  for (int64_t e = 0; e < n_experts; ++e)
    if (sizes[e] > 0) outs.push_back(fn(e, blocks[e]));
  auto y = outs.empty() ? torch::zeros({0, C}, u.options()) : torch::cat(outs, 0);  // (M, C)
  auto w = weights.reshape(-1).index_select(0, sorted_slots).to(y.dtype());
  y = y * w.unsqueeze(1);

  auto combined = torch::zeros({N * k, C}, y.options()).index_copy(0, sorted_slots, y);
  return combined.view({N, k, C}).sum(1);  // (N, C)
}

}  // namespace lmlab::model::moe
