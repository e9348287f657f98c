// Pieces every MoE variant shares: the layer-placement rule, resolved expert widths, the
// seeded fixed tables (hash routing, MaskMoE), RMSNorm for sub-layers, and a stacked bank of
// SwiGLU experts FFN_e(x) = (silu(x Wg_e) * (x Wu_e)) Wd_e whose expert e is a slice.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lmlab/model/init.h"
#include "lmlab/model/model_config.h"

namespace lmlab::model::moe {

// Width of the dense FFN: [model.ffn] hidden, or the LLaMA 8/3*d_model rounded up to 64.
int64_t dense_hidden(const ModelConfig& cfg);
// Width of one routed expert: expert_hidden, else dense_hidden.
int64_t expert_hidden(const ModelConfig& cfg);

// Whether layer `layer` gets the MoE block ([model.ffn] moe_layers / moe_every / moe_from).
bool is_moe_layer(const FfnConfig& ffn, int64_t layer);
int64_t n_moe_layers(const ModelConfig& cfg);

// (rows, keep) int64: row r holds the first `keep` entries of a random permutation of
// 0..n_experts-1, drawn from `seed` with a fixed algorithm (same table on every platform).
torch::Tensor seeded_expert_order(int64_t rows, int64_t n_experts, int64_t keep, uint64_t seed);

// y = x / sqrt(mean(x^2) + eps) * weight  (x (..., C), weight (C))
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps = 1e-6);

// Every expert's weights as views, taken once per forward (ExpertBankImpl::slices).
struct ExpertSlices {
  std::vector<torch::Tensor> gate, up, down;  // E views: (C, H), (C, H), (H, C)
};

// E SwiGLU experts as stacked weights: Wg, Wu (E, C, H) ~ N(0, init.weight^2),
// Wd (E, H, C) ~ N(0, init.residual^2) (the rule of init.h).
class ExpertBankImpl : public torch::nn::Module {
 public:
  ExpertBankImpl(int64_t n_experts, int64_t d_model, int64_t hidden, InitStds init = {});
  // The per-expert views of one forward. Indexing the bank once per expert call instead
  // (w_gate[e]) gives each call's backward its own zero tensor the size of the whole bank,
  // so backward cost grows with E^2; unbind's backward stacks the E gradients once.
  ExpertSlices slices() const;
  // Expert e on its tokens: (n, C) -> (n, C).
  static torch::Tensor expert(const ExpertSlices& w, int64_t e, const torch::Tensor& x);
  // One expert without the slices of a forward (a one-off call, e.g. a single-expert bank).
  torch::Tensor expert(int64_t e, const torch::Tensor& x) const;
  // Every expert on every token, one batched matmul: (N, C) -> (E, N, C).
  torch::Tensor all(const torch::Tensor& x) const;
  // The intermediate activations silu(x Wg_e) * (x Wu_e) of every expert: (E, N, H).
  torch::Tensor all_hidden(const torch::Tensor& x) const;
  int64_t params_per_expert() const { return 3 * d_model * hidden; }

  int64_t n_experts, d_model, hidden;
  torch::Tensor w_gate, w_up, w_down;
};
TORCH_MODULE(ExpertBank);

}  // namespace lmlab::model::moe
