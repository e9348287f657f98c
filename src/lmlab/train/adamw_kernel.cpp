// The fused AdamW element loop (see adamw_kernel.h).
#include "lmlab/train/adamw_kernel.h"

#include <cmath>

namespace lmlab::train {

void adamw_elements(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                    int64_t begin, int64_t end, const AdamWCoefficients& c) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i] * c.grad_scale;
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / c.sqrt_bc2 + c.eps;
    p[i] = p[i] * c.decay + c.step * mi / denom;
  }
}

}  // namespace lmlab::train
