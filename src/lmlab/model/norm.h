// Normalization of the residual stream before each sub-layer and before the output head.
//   RMSNorm (LLaMA):    y = x / sqrt(mean(x^2) + eps) * g
//   LayerNorm (GPT-2):  y = (x - mean(x)) / sqrt(var(x) + eps) * g + b   (b only with `bias`)
// Both compute in fp32 (fp64 for fp64 inputs) and return the input dtype, so bf16 autocast does
// not lose precision here.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/model_config.h"

namespace lmlab::model {

struct NormOptions {
  int64_t dim = 0;
  bool rms = true;    // false: LayerNorm
  double eps = 1e-5;
  bool bias = false;  // LayerNorm only (RMSNorm has none)

  // The decoder's norm: RMSNorm for arch "llama", LayerNorm (+ bias with [model] bias) for "gpt2".
  static NormOptions from(int64_t dim, const ModelConfig& cfg);
  // LayerNorm with gain and bias (BERT, ViT).
  static NormOptions layer_norm(int64_t dim, double eps);
};

class NormImpl : public torch::nn::Module {
 public:
  // Parameters: "weight" (+ "bias").
  explicit NormImpl(const NormOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)

 private:
  bool rms_;
  double eps_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(Norm);

}  // namespace lmlab::model
