// PYRA (Xiong et al., ECCV 2024): parallel yielding re-activation of the tokens ToMe merges.
// Per layer with r merges and width D, on the size-weighted src tokens M_s (B, r, D) and their
// dst partners M_t (B, r, D) (THU-MIG/PYRA model/adaptive_merge.py, merge()):
//   M    = LayerNorm(M_s + M_t)                              (B, r, D)
//   w_D  = 2 sigmoid(W_r^T M)                                (B, 1, D)  channel weights, W_r (r, 1)
//   w_r  = 2 sigmoid(M W_D^T) - 1                            (B, r, 1)  token weights,   W_D (1, D)
//   M_s <- M_s + (M_s * w_D) * w_r
// W_r ~ kaiming-uniform(a = sqrt 5) = U(-1, 1) for its fan-in of 1; W_D = 0, so at init (and
// whenever W_D = 0) w_r = 0 and the merge is exactly ToMe's. Only M_s is modulated, never M_t.
#pragma once
#include <torch/torch.h>

namespace lmlab::model {

class PyraImpl : public torch::nn::Module {
 public:
  PyraImpl(int64_t r, int64_t d_model, double norm_eps);

  // moved (B, r, D) = M_s, partners (B, r, D) = M_t -> re-activated M_s (B, r, D).
  torch::Tensor reactivate(const torch::Tensor& moved, const torch::Tensor& partners);

  // The paper's count, D + r (W_D and W_r), and with the LayerNorm's affine 2 D as the code has.
  int64_t paper_params() const { return w_d.numel() + w_r.numel(); }

  torch::Tensor w_r;  // (r, 1), "pyra_a" in the code
  torch::Tensor w_d;  // (1, D), "pyra_b"
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Pyra);

}  // namespace lmlab::model
