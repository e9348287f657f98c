// Rotary position embedding (see rope.h for the formula).
#include "lmlab/model/rope.h"

namespace lmlab::model {

RopeTables rope_tables(int64_t start, int64_t T, int64_t head_dim, double theta, const torch::Device& device) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto inv_freq = 1.0 / torch::pow(theta, torch::arange(0, head_dim, 2, f32) / static_cast<double>(head_dim));
  auto pos = torch::arange(start, start + T, f32);
  auto angles = torch::outer(pos, inv_freq);  // (T, D/2)
  auto both = torch::cat({angles, angles}, -1);  // (T, D)
  return {both.cos(), both.sin()};
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& rope) {
  int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);
  // The tables are fp32; convert only for other inputs (bf16 under autocast).
  const bool same = rope.cos.scalar_type() == x.scalar_type();
  return x * (same ? rope.cos : rope.cos.to(x.scalar_type())) + rotated * (same ? rope.sin : rope.sin.to(x.scalar_type()));
}

}  // namespace lmlab::model
