// Top-k softmax MoE with optional shared experts and capacity (formulas in routed_moe.h).
#include "lmlab/model/moe/routed_moe.h"

#include "lmlab/model/moe/dispatch.h"
#include "lmlab/model/moe/fp32_region.h"
#include "lmlab/model/init.h"

namespace lmlab::model::moe {

RoutedMoeOptions RoutedMoeOptions::from(const ModelConfig& cfg) {
  RoutedMoeOptions o;
  const FfnConfig& f = cfg.ffn;
  o.d_model = cfg.d_model;
  o.n_experts = f.n_experts;
  o.top_k = f.top_k;
  o.expert_hidden = moe::expert_hidden(cfg);
  o.n_shared = f.n_shared;
  o.shared_hidden = f.shared_hidden > 0 ? f.shared_hidden : o.expert_hidden;
  o.shared_mix = f.shared_mix;
  o.renormalize = f.renormalize;
  o.disable_top1 = f.disable_top1;
  o.capacity_factor = f.capacity_factor;
  o.capacity_renormalize = f.capacity_renormalize;
  o.capacity_at_eval = f.capacity_at_eval;
  o.balance_coef = f.balance_coef;
  o.init = init_stds(cfg);
  return o;
}

RoutedMoeImpl::RoutedMoeImpl(const RoutedMoeOptions& o) : opt(o) {
  experts = register_module("experts", ExpertBank(opt.n_experts, opt.d_model, opt.expert_hidden, opt.init));
  if (opt.learned_router) {
    router = register_module("router", torch::nn::Linear(torch::nn::LinearOptions(opt.d_model, opt.n_experts).bias(false)));
    init_linear(router, opt.init.weight);
  }
  if (opt.n_shared > 0) {
    shared = register_module("shared", ExpertBank(opt.n_shared, opt.d_model, opt.shared_hidden, opt.init));
    if (opt.shared_mix == "coefficient") {
      // N(0, init_std^2) and a zero bias, as the CartesianMoE authors' code initialises it (HF
      // Llama's _init_weights: N(0, 0.02), bias 0), not torch's uniform default: both mixes
      // start near 1/2.
      coefficient = register_module("coefficient", torch::nn::Linear(opt.d_model, 2));
      init_linear(coefficient, opt.init.weight);
    }
  }
}

torch::Tensor RoutedMoeImpl::router_probs(const torch::Tensor& u) const {
  // The authors keep the router in fp32 even when the rest runs in bf16.
  Fp32Region fp32;
  return torch::softmax(torch::linear(u.to(torch::kFloat), router->weight.to(torch::kFloat)), -1);
}

Routing RoutedMoeImpl::route(const torch::Tensor& u, const FfnContext&) {
  return route_topk(router_probs(u), opt.top_k, opt.renormalize, eval_top1_disabled());
}

torch::Tensor RoutedMoeImpl::forward(const torch::Tensor& x, const FfnContext& ctx) {
  auto u = x.reshape({-1, opt.d_model});  // (N, C)
  Routing r = route(u, ctx);
  stats_.clear();
  record_routing_stats(r, opt.n_experts, stats_);
  aux_ = torch::Tensor();
  if (opt.balance_coef > 0 && r.probs.defined()) {
    Fp32Region fp32;
    aux_ = opt.balance_coef * balance_loss(r, opt.n_experts);
    stats_.set("aux_loss", aux_);
  }
  if (opt.capacity_factor > 0 && (is_training() || opt.capacity_at_eval)) {
    stats_.set("dropped", apply_capacity(r, opt.n_experts,
                                         expert_capacity(opt.capacity_factor, u.size(0), r.experts.size(1), opt.n_experts)));
    if (opt.capacity_renormalize) r.weights = r.weights / r.weights.sum(1, /*keepdim=*/true).clamp_min(1e-9);
  } else
    stats_.set("dropped", 0);

  const ExpertSlices w = experts->slices();
  auto y = dispatch_combine(u, r.experts, r.weights, opt.n_experts,
                            [&w](int64_t e, const torch::Tensor& xe) { return ExpertBankImpl::expert(w, e, xe); });
  if (shared) {
    auto s = shared->all(u).sum(0);  // (N, C)
    if (coefficient) {
      auto c = torch::softmax(coefficient(u), -1);  // (N, 2)
      y = y * c.narrow(1, 0, 1) + s * c.narrow(1, 1, 1);
    } else {
      y = y + s;
    }
  }
  return y.view(x.sizes());
}

int64_t RoutedMoeImpl::active_params() const {
  int64_t n = nominal_k() * experts->params_per_expert();
  if (router) n += router->weight.numel();
  if (shared) n += opt.n_shared * shared->params_per_expert();
  if (coefficient) n += coefficient->weight.numel() + coefficient->bias.numel();
  return n;
}

}  // namespace lmlab::model::moe
