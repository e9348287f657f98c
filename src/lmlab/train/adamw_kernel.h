// The element loop of the fused AdamW step (optimizer.cpp), in a file of its own: it is compiled
// with -fno-math-errno (so sqrt vectorises; its argument, a second moment, is never negative)
// and without libtorch's precompiled header, which that flag would invalidate.
#pragma once
#include <cstdint>

namespace lmlab::train {

// Every factor already rounded to float, as ATen rounds a double scalar for a float tensor.
struct AdamWCoefficients {
  float grad_scale, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bc2, eps, step;
};

// Elements [begin, end): libtorch's op-by-op float arithmetic (mul_, add_, mul_, addcmul_,
// sqrt, div, add_, mul_, addcdiv_) in one pass:
//   g = g * grad_scale;  m = m b1 + (1 - b1) g;  v = v b2 + ((1 - b2) g) g
//   p = p decay + (step m) / (sqrt(v) / sqrt_bc2 + eps)
void adamw_elements(float* p, const float* g, float* m, float* v, int64_t begin, int64_t end,
                    const AdamWCoefficients& c);

}  // namespace lmlab::train
