// The dense feed-forward block, registry name "dense":
//   llama (SwiGLU, Shazeer 2020):  FFN(x) = w2( silu(w1 x) * w3 x )
//   gpt2  (GELU MLP):              FFN(x) = w2( gelu_tanh(w1 x) )
//   encoder, ViT (BERT, ViT):      FFN(x) = w2( gelu(w1 x) )         (exact erf GELU)
// Hidden width: [model.ffn] hidden, or by default 4*d_model (gpt2) or 8/3*d_model rounded up to
// a multiple of 64 (llama: the same parameter count as the 4*d GELU MLP, as in the LLaMA paper).
// Parameter names: w1 (gate / up), w3 (up, SwiGLU only), w2 (down) — HF Llama's gate_proj,
// up_proj, down_proj. Exposed so MoE experts can reuse it.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/deferred_stats.h"
#include "lmlab/model/ffn.h"

namespace lmlab::model {

int64_t default_ffn_hidden(const ModelConfig& cfg);

enum class Activation { SwiGlu, GeluTanh, Gelu };

struct DenseFfnOptions {
  int64_t d_model = 0;
  int64_t hidden = 0;
  Activation activation = Activation::SwiGlu;
  bool bias = false;
  double init_std = 0.02;      // w1, w3
  double out_init_std = 0.02;  // w2, the projection into the residual stream
  double near_zero_eps = 0.01;

  // The decoder's FFN: SwiGLU (llama) or tanh-GELU (gpt2), default_ffn_hidden(cfg) wide.
  static DenseFfnOptions from(const ModelConfig& cfg);
};

class DenseFfnImpl : public FfnBlockImpl {
 public:
  explicit DenseFfnImpl(const DenseFfnOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override;  // (B, T, C) -> (B, T, C)
  double flops_per_token() const override;
  // In eval mode: near_zero_share of the hidden activations of the last forward (compared with
  // Finedeep's, docs/moe.md); empty after a training forward or one with FfnContext::want_stats
  // false (generation), which skip the measurement.
  nlohmann::json stats() const override { return stats_.json(); }

  torch::nn::Linear w1{nullptr}, w2{nullptr}, w3{nullptr};  // w3 undefined for the GELU MLP

 private:
  Activation activation_;
  double near_zero_eps_;
  DeferredStats stats_;
};

}  // namespace lmlab::model
