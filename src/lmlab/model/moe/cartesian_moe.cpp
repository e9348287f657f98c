// CartesianMoE: two routed sub-layers joined by a residual and an RMSNorm (see cartesian_moe.h).
#include "lmlab/model/moe/cartesian_moe.h"

namespace lmlab::model::moe {

CartesianMoeImpl::CartesianMoeImpl(const RoutedMoeOptions& sub_layer, bool top1_in_second) {
  RoutedMoeOptions second = sub_layer;
  second.disable_top1 = sub_layer.disable_top1 && top1_in_second;
  sub1 = register_module("sub1", std::make_shared<RoutedMoeImpl>(sub_layer));
  sub2 = register_module("sub2", std::make_shared<RoutedMoeImpl>(second));
  mid_norm = register_parameter("mid_norm", torch::ones({sub_layer.d_model}));
}

torch::Tensor CartesianMoeImpl::forward(const torch::Tensor& x, const FfnContext& ctx) {
  // Without the residual stream (a block used on its own) u1 stands in for h.
  return forward_stream(ctx.residual.defined() ? ctx.residual : x, x, ctx);
}

torch::Tensor CartesianMoeImpl::forward_stream(const torch::Tensor& h, const torch::Tensor& u1, const FfnContext& ctx) {
  auto m1 = sub1->forward(u1, ctx);
  auto m2 = sub2->forward(rms_norm(h + m1, mid_norm), ctx);
  return m1 + m2;
}

torch::Tensor CartesianMoeImpl::aux_loss() const {
  auto a = sub1->aux_loss(), b = sub2->aux_loss();
  if (!a.defined()) return b;
  return b.defined() ? a + b : a;
}

nlohmann::json CartesianMoeImpl::stats() const {
  auto s1 = sub1->stats(), s2 = sub2->stats();
  nlohmann::json j = s1;  // top level = sub-layer 1, so plots treat it like any MoE layer
  j["sub2"] = s2;
  if (s1.contains("aux_loss") && s2.contains("aux_loss"))
    j["aux_loss"] = s1["aux_loss"].get<double>() + s2["aux_loss"].get<double>();
  if (s1.contains("dropped") && s2.contains("dropped"))
    j["dropped"] = s1["dropped"].get<int64_t>() + s2["dropped"].get<int64_t>();
  return j;
}

int64_t CartesianMoeImpl::active_params() const {
  return sub1->active_params() + sub2->active_params() + mid_norm.numel();
}

}  // namespace lmlab::model::moe
