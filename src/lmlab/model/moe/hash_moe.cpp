// Hash routing: fixed token-id -> experts table (formula in hash_moe.h).
#include "lmlab/model/moe/hash_moe.h"

#include "lmlab/common/error.h"

namespace lmlab::model::moe {

namespace {
RoutedMoeOptions without_router(RoutedMoeOptions o) {
  o.learned_router = false;
  o.balance_coef = 0.0;
  return o;
}
}  // namespace

HashMoeImpl::HashMoeImpl(const RoutedMoeOptions& o, int64_t vocab_size, uint64_t seed)
    : RoutedMoeImpl(without_router(o)) {
  if (vocab_size <= 0) throw UserError("[model.ffn] type = hash_moe needs model.vocab_size > 0");
  table = register_buffer("hash_table", seeded_expert_order(vocab_size, opt.n_experts, opt.top_k, seed));
}

Routing HashMoeImpl::route(const torch::Tensor& u, const FfnContext& ctx) {
  auto ids = ctx.token_ids.reshape(-1).to(table.device());  // (N)
  auto experts = table.index_select(0, ids).to(torch::kLong);  // (N, k); Module::to(dtype) also casts buffers
  auto weights = torch::full(experts.sizes(), 1.0 / static_cast<double>(opt.top_k), u.options().dtype(torch::kFloat));
  return {experts, weights, torch::Tensor()};
}

}  // namespace lmlab::model::moe
