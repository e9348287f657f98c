// Sorted gather / per-expert matmul / deterministic combine (see dispatch.h).
#include "lmlab/model/moe/dispatch.h"

#include <vector>

namespace lmlab::model::moe {

torch::Tensor dispatch_combine(const torch::Tensor& u, const torch::Tensor& experts, const torch::Tensor& weights,
                               int64_t n_experts, const ExpertFn& fn) {
  const int64_t N = experts.size(0), k = experts.size(1), C = u.size(1);
  // Unused slots (-1) become expert E, so one stable sort puts them last and the first M
  // sorted slots are the routed assignments, grouped by expert, in slot order within each.
  auto flat = experts.reshape(-1);                            // (N*k)
  auto keyed = flat.masked_fill(flat.lt(0), n_experts);
  auto order = std::get<1>(keyed.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));  // (N*k)
  // Fixed-size counts (E + 1 bins), read in the forward's one host sync: the block sizes.
  auto bins = torch::zeros({n_experts + 1}, keyed.options()).scatter_add_(0, keyed, torch::ones_like(keyed));
  bins = bins.to(torch::kLong).cpu();
  std::vector<int64_t> sizes(bins.data_ptr<int64_t>(), bins.data_ptr<int64_t>() + n_experts);
  int64_t M = 0;
  for (int64_t n : sizes) M += n;
  auto sorted_slots = order.narrow(0, 0, M);                  // (M), grouped by expert
  auto sorted_tokens = sorted_slots.div(k, "floor");

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
