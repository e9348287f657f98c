// The routed MoE layer every token-choice variant builds on ([model.ffn] type = "moe"):
//   p = softmax(W_r u)  (fp32);  I, w = TopK(p, k) (renormalised over I when k > 1 and asked)
//   y = sum_{i in I} w_i FFN_i(u)                                      (Switch k=1, GShard k=2)
//     + sum_s FFN^shared_s(u)                                          (shared_mix = sum: DeepSeekMoE)
//   or y = c_0 * routed + c_1 * sum_s FFN^shared_s(u), c = softmax(W_c u + b_c)
//                                                                      (shared_mix = coefficient:
//                                                                       DeepSpeed residual-MoE)
//   aux = balance_coef * N * sum_i f_i P_i.
// Capacity (capacity_factor > 0, training only unless capacity_at_eval): assignments beyond an
// expert's capacity are dropped (w = 0); capacity_renormalize then divides each token's kept
// weights by their sum, as DeepSpeed's top-2 gating does after dropping.
// Fine-grained experts (DeepSeekMoE segmentation) are this layer with expert_hidden = hidden/m
// and top_k multiplied by m. Variants override route() (hash, top-p, MaskMoE).
#pragma once
#include <torch/torch.h>

#include "lmlab/model/ffn.h"
#include "lmlab/model/moe/moe_common.h"
#include "lmlab/model/moe/router.h"

namespace lmlab::model::moe {

struct RoutedMoeOptions {
  int64_t d_model = 0, n_experts = 8, top_k = 2, expert_hidden = 0;
  int64_t n_shared = 0, shared_hidden = 0;
  std::string shared_mix = "sum";
  bool renormalize = true, disable_top1 = false, learned_router = true;
  double capacity_factor = 0.0, balance_coef = 0.01;
  bool capacity_renormalize = false, capacity_at_eval = false;
  InitStds init;
  static RoutedMoeOptions from(const ModelConfig& cfg);
};

class RoutedMoeImpl : public FfnBlockImpl {
 public:
  explicit RoutedMoeImpl(const RoutedMoeOptions& opt);

  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override;
  torch::Tensor aux_loss() const override { return aux_; }
  nlohmann::json stats() const override { return stats_.json(); }
  int64_t active_params() const override;
  double flops_per_token() const override { return 2.0 * static_cast<double>(active_params()); }

  // Router probabilities (N, E) in fp32 for the flattened tokens u (N, C).
  torch::Tensor router_probs(const torch::Tensor& u) const;

  RoutedMoeOptions opt;
  ExpertBank experts{nullptr};
  ExpertBank shared{nullptr};
  torch::nn::Linear router{nullptr};       // C -> E, no bias
  torch::nn::Linear coefficient{nullptr};  // C -> 2, with bias (shared_mix = coefficient)

  // Routing of the flattened tokens u (N, C); the default is top-k softmax.
  virtual Routing route(const torch::Tensor& u, const FfnContext& ctx);

 protected:
  // Active routed experts per token, for active_params().
  virtual int64_t nominal_k() const { return opt.top_k; }
  bool eval_top1_disabled() const { return opt.disable_top1 && !is_training(); }

  torch::Tensor aux_;
  DeferredStats stats_;
};

}  // namespace lmlab::model::moe
