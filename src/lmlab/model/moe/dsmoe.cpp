// DSMoE: a dense FFN partitioned into sigmoid-gated experts with a straight-through estimator
// (formulas in dsmoe.h).
#include "lmlab/model/moe/dsmoe.h"

#include "lmlab/common/error.h"
#include "lmlab/model/moe/dispatch.h"
#include "lmlab/model/moe/fp32_region.h"
#include "lmlab/model/moe/moe_common.h"
#include "lmlab/model/moe/router.h"

namespace lmlab::model::moe {

DsMoeImpl::DsMoeImpl(const DsMoeOptions& o) : opt(o) {
  if (opt.n < 1 || opt.hidden % opt.n != 0)
    throw UserError("[model.ffn] dsmoe_n = " + std::to_string(opt.n) + " must divide the FFN hidden width " +
                    std::to_string(opt.hidden));
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  w1 = register_module("w1", linear(opt.d_model, opt.hidden));
  w2 = register_module("w2", linear(opt.hidden, opt.d_model));
  w3 = register_module("w3", linear(opt.d_model, opt.hidden));
  gate = register_module("gate", linear(opt.d_model, opt.n));
  for (auto* l : {&w1, &w3, &gate}) init_linear(*l, opt.init.weight);
  init_linear(w2, opt.init.residual);
}

torch::Tensor DsMoeImpl::gates(const torch::Tensor& u) const {
  Fp32Region fp32;
  return torch::sigmoid(torch::linear(u.to(torch::kFloat), gate->weight.to(torch::kFloat)));
}

torch::Tensor DsMoeImpl::expert_outputs(const torch::Tensor& u) const {
  const int64_t n = opt.n, h = opt.hidden / n;
  auto a = (torch::silu(torch::linear(u, w1->weight)) * torch::linear(u, w3->weight)).view({-1, n, h}).transpose(0, 1);  // (n, N, h)
  auto down = w2->weight.t().reshape({n, h, opt.d_model});                 // (n, h, C): rows of W2
  return torch::bmm(a, down).transpose(0, 1);                               // (N, n, C)
}

torch::Tensor DsMoeImpl::expert(int64_t i, const torch::Tensor& x) const {
  const int64_t h = opt.hidden / opt.n;
  auto W1 = w1->weight.narrow(0, i * h, h), W3 = w3->weight.narrow(0, i * h, h);  // (h, C)
  auto W2 = w2->weight.narrow(1, i * h, h);                                        // (C, h)
  return torch::linear(torch::silu(torch::linear(x, W1)) * torch::linear(x, W3), W2);
}

torch::Tensor DsMoeImpl::forward(const torch::Tensor& x, const FfnContext&) {
  auto u = x.reshape({-1, opt.d_model});  // (N, C)
  auto y = opt.topk_router ? forward_topk(u) : forward_gated(u);
  return y.view(x.sizes());
}

torch::Tensor DsMoeImpl::forward_gated(const torch::Tensor& u) {
  auto g = gates(u);                      // (N, n)
  auto active = g.gt(opt.tau);
  auto hard = g * active.to(g.dtype());   // G(g)
  auto scale = static_cast<double>(opt.n) / active.sum(1, /*keepdim=*/true).clamp_min(1).to(g.dtype());  // (N, 1)
  torch::Tensor y;
  if (is_training()) {
    // S(g) = G(g) forward with gradient 1 for every gate; without the STE, G(g) itself (zero
    // gradient for the gates under tau and their experts).
    auto w = opt.ste ? hard.detach() + g - g.detach() : hard;
    y = (expert_outputs(u) * (w * scale).to(u.dtype()).unsqueeze(-1)).sum(1);
  } else {
    // Skip the experts under tau: only (token, expert) pairs with g > tau are computed.
    auto ids = torch::arange(opt.n, active.options().dtype(torch::kLong)).expand_as(active);
    y = dispatch_combine(u, ids.masked_fill(active.logical_not(), -1), hard * scale, opt.n,
                         [this](int64_t i, const torch::Tensor& xe) { return expert(i, xe); });
  }
  Fp32Region fp32;  // the sparsity loss, and the statistics below
  aux_ = opt.sparsity_coef / static_cast<double>(opt.n_moe_layers * opt.n) * hard.sum(1).mean();
  stats_.clear();
  stats_.set("active_share", active.to(torch::kDouble).mean());
  stats_.set("aux_loss", aux_);
  stats_.set("tokens", u.size(0));
  return y;
}

torch::Tensor DsMoeImpl::forward_topk(const torch::Tensor& u) {
  Routing r;
  {
    Fp32Region fp32;
    r = route_topk(torch::softmax(torch::linear(u.to(torch::kFloat), gate->weight.to(torch::kFloat)), -1), opt.top_k,
                   /*renormalize=*/true, /*disable_top1=*/false);
    aux_ = opt.balance_coef * balance_loss(r, opt.n);
  }
  const double s = opt.topk_scale > 0 ? opt.topk_scale : static_cast<double>(opt.n);
  auto y = dispatch_combine(u, r.experts, r.weights * s, opt.n,
                            [this](int64_t i, const torch::Tensor& xe) { return expert(i, xe); });
  stats_.clear();
  record_routing_stats(r, opt.n, stats_);
  stats_.set("active_share", static_cast<double>(opt.top_k) / static_cast<double>(opt.n));
  stats_.set("aux_loss", aux_);
  return y;
}

int64_t DsMoeImpl::active_params() const {
  const int64_t ffn = w1->weight.numel() + w2->weight.numel() + w3->weight.numel();
  return (opt.topk_router ? ffn / opt.n * opt.top_k : ffn) + gate->weight.numel();
}

}  // namespace lmlab::model::moe
