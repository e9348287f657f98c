// CartesianMoE (Su et al., NAACL 2025), [model.ffn] type = "cartesian_moe": two sequential
// routed sub-layers, each with its own fp32 router, top-k (renormalised) and shared expert mixed
// by the coefficient gate, with a residual and an RMSNorm between them (the authors' eval code,
// notes §2.2). With h the block input and u1 = RMSNorm_post_attn(h):
//   m1 = MoE_1(u1)           x1 = h + m1           u2 = RMSNorm(x1)
//   m2 = MoE_2(u2)           out = x1 + m2 = h + (m1 + m2)
// so a composite expert (i, j) is FFN^2_j(RMSNorm(h + FFN^1_i(u1))): n_experts^2 combinations.
// This block returns m1 + m2; the transformer adds h.
//
// forward(u1, ctx) takes h from ctx.residual (the transformer always sets it), so it is the
// exact pass; forward_stream(h, u1) is the same with h given explicitly.
// The robustness test (disable_top1) drops the top-1 expert of both sub-layers (2 of the 4
// sub-experts a token uses, the paper's test) or, with top1_in_second = false
// (disable_top1_layers = first), of the first only: 1 of 4, closer to the 1 of 2 a top-2 model loses.
#pragma once
#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe {

class CartesianMoeImpl : public FfnBlockImpl {
 public:
  explicit CartesianMoeImpl(const RoutedMoeOptions& sub_layer, bool top1_in_second = true);

  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override;
  // h: (B, T, C) residual stream entering the block; u1 = RMSNorm_post_attn(h). Returns m1 + m2.
  torch::Tensor forward_stream(const torch::Tensor& h, const torch::Tensor& u1, const FfnContext& ctx);
  torch::Tensor aux_loss() const override;
  nlohmann::json stats() const override;
  int64_t active_params() const override;
  double flops_per_token() const override { return 2.0 * static_cast<double>(active_params()); }

  std::shared_ptr<RoutedMoeImpl> sub1, sub2;
  torch::Tensor mid_norm;  // (C) weight of the RMSNorm between the sub-layers
};

}  // namespace lmlab::model::moe
