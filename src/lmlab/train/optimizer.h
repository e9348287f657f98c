// AdamW (Loshchilov & Hutter, 2019) with the two parameter groups of GPT-style training:
//   m_t = b1 m + (1 - b1) g,   v_t = b2 v + (1 - b2) g^2
//   p  <- p - lr * wd * p      (decay group only: matrices of 2 or more dims; never norms,
//                               biases or other 1-D parameters)
//   p  <- p - lr * (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)
// the same arithmetic as torch.optim.AdamW. Written here rather than using torch::optim so
// its state is plain named tensors (exact checkpoint/resume on libtorch 1.13 and 2.x alike).
// Parameters and their states stay fp32 (the master weights under bf16 autocast).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lmlab/model/safetensors.h"
#include "lmlab/train/train_config.h"

namespace lmlab::train {

class AdamW {
 public:
  AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_params, const TrainConfig& cfg);

  // One update with learning rate `lr` from the parameters' current .grad() times
  // `grad_scale` (the clipping factor, clip_scale; the gradients themselves are not changed).
  // fp32 CPU tensors take one fused pass each; the rest the same arithmetic op by op.
  void step(double lr, double grad_scale = 1.0);
  void zero_grad();

  const std::vector<torch::Tensor>& params() const { return params_; }
  bool decays(size_t i) const { return decay_[i]; }
  int64_t steps_taken() const { return t_; }

  // "<param name>.exp_avg" / ".exp_avg_sq" tensors plus "step"; load() checks names and shapes.
  model::NamedTensors state() const;
  void load(const model::NamedTensors& state, const std::string& file);

 private:
  std::vector<std::string> names_;
  std::vector<torch::Tensor> params_, exp_avg_, exp_avg_sq_;
  std::vector<bool> decay_;
  double beta1_, beta2_, eps_, weight_decay_;
  int64_t t_ = 0;
};

// Global L2 norm of all gradients (undefined ones skipped).
double global_grad_norm(const std::vector<torch::Tensor>& params);
// The factor that brings a gradient of norm `norm` to at most `max_norm` (1 when max_norm is 0
// or the norm is within it): max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_.
double clip_scale(double norm, double max_norm);

}  // namespace lmlab::train
