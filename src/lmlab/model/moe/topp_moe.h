// Top-p (dynamic) routing (Huang et al. 2024, as in the CartesianMoE authors' code),
// [model.ffn] type = "topp_moe":
//   p = softmax(W_r u); sort descending; keep the shortest prefix S whose mass exceeds top_p
//   (the expert that crosses the threshold is kept; top_p = 0.4 in the CartesianMoE paper)
//   y = sum_{i in S} p_i FFN_i(u)   (weights NOT renormalised)  (+ shared experts)
// The number of experts per token varies; active_params() uses top_k as the nominal count
// (the paper lists TopP with the same activated parameters as top-2) and stats() reports the
// measured experts_per_token.
#pragma once
#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe {

class TopPMoeImpl : public RoutedMoeImpl {
 public:
  TopPMoeImpl(const RoutedMoeOptions& opt, double top_p) : RoutedMoeImpl(opt), top_p(top_p) {}
  double top_p;

  Routing route(const torch::Tensor& u, const FfnContext& ctx) override;
};

}  // namespace lmlab::model::moe
