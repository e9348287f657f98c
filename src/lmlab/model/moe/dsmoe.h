// DSMoE (Lv, Su et al., EMNLP 2025), [model.ffn] type = "dsmoe": a dense SwiGLU FFN
// h = (silu(u W1) * (u W3)) W2 partitioned along its hidden dimension into n contiguous blocks,
// expert i: o_i = (silu(u W1_i) * (u W3_i)) W2_i, so sum_i o_i is the dense FFN exactly.
//   g_i = sigmoid(u Y_i)                      (independent sigmoid gates, Y: C x n)
//   G(x) = x if x > tau else 0                (tau = 0.5)
//   S(x) = sg(G(x)) + x - sg(x)               (straight-through: forward G, gradient 1)
//   h = n / #{i: g_i > tau} * sum_i o_i S(g_i)   (#active clamped to >= 1: the paper leaves 0 open)
//   L_sparse = coef / (L n) * sum_l sum_i G(g_i)  (coef 1, averaged over tokens; no balance loss)
// Training computes every expert (the gate gradient needs o_i for all of them); in eval mode
// experts under tau are skipped through the sorted dispatch, and stats() reports active_share.
// Parameters are named like the dense FFN (w1, w2, w3), so a dense checkpoint loads into it
// (continued pre-training, the paper's setting) leaving only the gate new.
// The paper's baselines on the same partition (issue #19):
//   ste = false (dsmoe_ste): train with G(g) in place of S(g), the paper's "w/o S(x)" ablation;
//   router = topk (dsmoe_router): LLaMA-MoE's fixed top-k over the n blocks:
//     p = softmax(u Y) (fp32);  I, w = TopK(p, k), w renormalised over I;
//     h = s * sum_{i in I} w_i o_i   (s = dsmoe_topk_scale, 0 = n: as DSMoE's n / #active, the
//     output matches the dense FFN's scale when the k weights are equal; LLaMA-MoE's code calls
//     it score_scale_factor and leaves it to the config);  aux = balance_coef * n sum_i f_i P_i.
//   It computes only the k selected blocks, in training too.
#pragma once
#include "lmlab/model/deferred_stats.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/init.h"

namespace lmlab::model::moe {

struct DsMoeOptions {
  int64_t d_model = 0, hidden = 0, n = 8, n_moe_layers = 1;
  double tau = 0.5, sparsity_coef = 1.0;
  bool ste = true;
  bool topk_router = false;  // dsmoe_router = topk: the LLaMA-MoE baseline
  int64_t top_k = 3;
  double topk_scale = 0.0, balance_coef = 0.01;
  InitStds init;  // w1, w3, the gate: init.weight; w2: init.residual (init.h)
};

class DsMoeImpl : public FfnBlockImpl {
 public:
  explicit DsMoeImpl(const DsMoeOptions& opt);

  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override;
  torch::Tensor aux_loss() const override { return aux_; }
  nlohmann::json stats() const override { return stats_.json(); }
  // Training computes all n experts, so every parameter is active per token (the inference
  // saving is stats()["active_share"]); the top-k baseline activates k of the n blocks.
  int64_t active_params() const override;
  double flops_per_token() const override { return 2.0 * static_cast<double>(active_params()); }

  // Every expert's output o_i: (N, C) -> (N, n, C).
  torch::Tensor expert_outputs(const torch::Tensor& u) const;
  // Gate probabilities g = sigmoid(u Y) in fp32: (N, n).
  torch::Tensor gates(const torch::Tensor& u) const;

  DsMoeOptions opt;
  torch::nn::Linear w1{nullptr}, w2{nullptr}, w3{nullptr}, gate{nullptr};

 private:
  torch::Tensor forward_gated(const torch::Tensor& u);  // (N, C) -> (N, C), sigmoid gates
  torch::Tensor forward_topk(const torch::Tensor& u);   // (N, C) -> (N, C), the top-k baseline
  torch::Tensor expert(int64_t i, const torch::Tensor& x) const;
  torch::Tensor aux_;
  DeferredStats stats_;
};

}  // namespace lmlab::model::moe
