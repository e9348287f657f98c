// t in `dtype`, without a dispatch when it already is (fp32, the common case: the norms and the
// attention call it per layer and step; bf16 under autocast, fp64 in the gradient checks).
#pragma once
#include <torch/torch.h>

namespace lmlab::model {

inline torch::Tensor in_dtype(const torch::Tensor& t, torch::ScalarType dtype) {
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

}  // namespace lmlab::model
