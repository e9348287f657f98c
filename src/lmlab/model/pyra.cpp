// PYRA's re-activation module (see pyra.h).
#include "lmlab/model/pyra.h"

#include <cmath>

namespace lmlab::model {

PyraImpl::PyraImpl(int64_t r, int64_t d_model, double norm_eps) {
  w_r = register_parameter("w_r", torch::empty({r, 1}));
  w_d = register_parameter("w_d", torch::zeros({1, d_model}));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model}).eps(norm_eps)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(w_r, std::sqrt(5.0));
}

torch::Tensor PyraImpl::reactivate(const torch::Tensor& moved, const torch::Tensor& partners) {
  auto m = norm(moved + partners);                                  // (B, r, D)
  auto channel = 2 * torch::sigmoid(torch::matmul(w_r.t(), m));     // (1, r) @ (B, r, D) -> (B, 1, D)
  auto token = 2 * torch::sigmoid(torch::matmul(m, w_d.t())) - 1;   // (B, r, D) @ (D, 1) -> (B, r, 1)
  return moved + (moved * channel) * token;
}

}  // namespace lmlab::model
