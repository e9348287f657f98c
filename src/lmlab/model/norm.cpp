// RMSNorm / LayerNorm (see norm.h).
#include "lmlab/model/norm.h"

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

// t in `dtype`; no dispatch when it already is (fp32, the common case: this runs per layer and token).
static torch::Tensor in_dtype(const torch::Tensor& t, torch::ScalarType dtype) {
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

torch::Tensor NormImpl::forward(const torch::Tensor& x) {
  // fp32 at least: bf16/fp16 inputs are upcast, fp64 (gradient checks) stays fp64.
  auto dtype = x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto xf = in_dtype(x, dtype);
  torch::Tensor y;
  if (rms_) {
    y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps_) * in_dtype(weight_, dtype);
  } else {
    auto b = bias_.defined() ? in_dtype(bias_, dtype) : torch::Tensor();
    y = torch::layer_norm(xf, {xf.size(-1)}, in_dtype(weight_, dtype), b, eps_);
  }
  return in_dtype(y, x.scalar_type());
}

}  // namespace lmlab::model
