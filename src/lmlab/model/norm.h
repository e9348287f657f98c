// Normalization of the residual stream before each sub-layer and before the output head.
//   RMSNorm (LLaMA):    y = x / sqrt(mean(x^2) + eps) * g
//   LayerNorm (GPT-2):  y = (x - mean(x)) / sqrt(var(x) + eps) * g + b   (b only with [model] bias)
// Both compute in fp32 (fp64 for fp64 inputs) and return the input dtype, so bf16 autocast does
// not lose precision here.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/model_config.h"

namespace lmlab::model {

class NormImpl : public torch::nn::Module {
 public:
  // RMSNorm for arch "llama", LayerNorm for "gpt2". Parameters: "weight" (+ "bias").
  NormImpl(int64_t dim, const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim) -> (..., dim)

 private:
  bool rms_;
  double eps_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(Norm);

}  // namespace lmlab::model
