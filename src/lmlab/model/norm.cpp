// RMSNorm / LayerNorm (see norm.h).
#include "lmlab/model/norm.h"

#include "lmlab/model/in_dtype.h"

namespace lmlab::model {

NormOptions NormOptions::from(int64_t dim, const ModelConfig& cfg) {
  bool rms = cfg.arch == "llama";
  return {dim, rms, cfg.norm_eps, !rms && cfg.bias};
}

NormOptions NormOptions::layer_norm(int64_t dim, double eps) { return {dim, false, eps, true}; }

NormImpl::NormImpl(const NormOptions& o) : rms_(o.rms), eps_(o.eps) {
  weight_ = register_parameter("weight", torch::ones({o.dim}));
  if (!rms_ && o.bias) bias_ = register_parameter("bias", torch::zeros({o.dim}));
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = x r w with r = 1 / sqrt(mean(x^2) + eps) per row, x (..., C) and w (C) in the compute
// dtype: the composed formula's forward ops in its order, and its closed-form backward
// (a = g w, x_n = x r):  dx = r (a - x_n mean(a x_n)),  dw = sum over rows of g x_n,
// six passes over x where autograd's chain through pow, mean, rsqrt and two products takes
// about eleven. The same function; its gradients differ from autograd's in rounding only.
class RmsNorm : public torch::autograd::Function<RmsNorm> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w, double eps) {
    auto r = torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps);  // (..., 1)
    auto xn = x * r;                                                    // (..., C)
    ctx->save_for_backward({xn, r, w});
    return xn * w;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto saved = ctx->get_saved_variables();
    const auto &xn = saved[0], &r = saved[1], &w = saved[2], &g = grad[0];
    auto a = g * w;                                                 // (..., C)
    auto dx = (a - xn * (a * xn).mean(-1, /*keepdim=*/true)) * r;  // (..., C)
    // (C); a frozen weight needs none
    auto dw = ctx->needs_input_grad(1) ? (g * xn).reshape({-1, w.size(0)}).sum(0) : torch::Tensor();
    return {dx, dw, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  // fp32 at least: bf16/fp16 inputs are upcast, fp64 (gradient checks) stays fp64.
  auto dtype = x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto xf = in_dtype(x, dtype);
  torch::Tensor y;
  if (rms_) {
    y = RmsNorm::apply(xf, in_dtype(weight_, dtype), eps_);
  } else {
    auto b = bias_.defined() ? in_dtype(bias_, dtype) : torch::Tensor();
    y = torch::layer_norm(xf, {xf.size(-1)}, in_dtype(weight_, dtype), b, eps_);
  }
  return in_dtype(y, x.scalar_type());
}

}  // namespace lmlab::model
