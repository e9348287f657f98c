// MaskMoE routing mask (formula and open points in mask_moe.h).
#include "lmlab/model/moe/mask_moe.h"

#include <limits>

#include "lmlab/common/error.h"
#include "lmlab/model/moe/fp32_region.h"

namespace lmlab::model::moe {

MaskMoeImpl::MaskMoeImpl(const RoutedMoeOptions& o, int64_t vocab_size, int64_t visible_, double frequent_share_,
                         uint64_t seed)
    : RoutedMoeImpl(o), visible(visible_), frequent_share(frequent_share_) {
  if (vocab_size <= 0) throw UserError("[model.ffn] type = mask_moe needs model.vocab_size > 0");
  if (visible < 1 || visible > opt.n_experts)
    throw UserError("[model.ffn] mask_visible (" + std::to_string(visible) + ") must be in [1, n_experts = " +
                    std::to_string(opt.n_experts) + "]");
  expert_order = register_buffer("expert_order", seeded_expert_order(vocab_size, opt.n_experts, visible, seed));
  mask = register_buffer("routing_mask", torch::zeros({vocab_size, opt.n_experts}));
  build_mask(torch::ones({vocab_size}, torch::kBool));
}

void MaskMoeImpl::build_mask(const torch::Tensor& frequent) {
  const int64_t vocab = expert_order.size(0);
  auto order = expert_order.to(torch::kLong);  // Module::to(dtype) casts integer buffers too
  auto idx = order.options();
  // Visible columns per token: all V for frequent tokens, only the first for the others.
  auto n_visible = torch::where(frequent.to(order.device()), torch::full({vocab}, visible, idx), torch::ones({vocab}, idx));
  auto col = torch::arange(visible, idx).unsqueeze(0);  // (1, V)
  auto shown = col.lt(n_visible.unsqueeze(1));                              // (vocab, V)
  auto m = torch::full({vocab, opt.n_experts}, -std::numeric_limits<float>::infinity(), mask.options());
  m.scatter_(1, order, torch::where(shown, torch::zeros({}, mask.options()),
                                           torch::full({}, -std::numeric_limits<float>::infinity(), mask.options())));
  // scatter_ writes each listed expert once per row (the order holds distinct experts).
  torch::NoGradGuard no_grad;
  mask.copy_(m);
}

void MaskMoeImpl::set_token_frequencies(const torch::Tensor& counts) {
  const int64_t vocab = expert_order.size(0);
  if (counts.dim() != 1 || counts.size(0) != vocab)
    throw UserError("MaskMoE token frequencies: expected " + std::to_string(vocab) + " counts, got " +
                    std::to_string(counts.numel()));
  auto n_frequent = static_cast<int64_t>(frequent_share * static_cast<double>(vocab) + 0.5);
  // Most frequent first; stable so that ties go to the lower id.
  auto order = std::get<1>(counts.to(torch::kDouble).cpu().sort(/*stable=*/true, 0, /*descending=*/true));
  auto frequent = torch::zeros({vocab}, torch::kBool);
  frequent.index_fill_(0, order.narrow(0, 0, n_frequent), true);
  build_mask(frequent);
}

Routing MaskMoeImpl::route(const torch::Tensor& u, const FfnContext& ctx) {
  auto ids = ctx.token_ids.reshape(-1).to(mask.device());
  Fp32Region fp32;
  auto logits = torch::linear(u.to(torch::kFloat), router->weight.to(torch::kFloat)) + mask.index_select(0, ids);
  return route_topk(torch::softmax(logits, -1), opt.top_k, opt.renormalize, eval_top1_disabled());
}

int64_t set_token_frequencies(torch::nn::Module& model, const torch::Tensor& counts) {
  int64_t n = 0;
  for (auto& m : model.modules(/*include_self=*/true))
    if (auto* mm = dynamic_cast<MaskMoeImpl*>(m.get())) {
      mm->set_token_frequencies(counts);
      ++n;
    }
  return n;
}

}  // namespace lmlab::model::moe
