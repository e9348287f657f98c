// Rotary position embedding (Su et al. 2021, RoFormer), in the "rotate half" layout of
// Hugging Face Llama so exported weights need no permutation. For head dim D and position p,
// dimension i < D/2 is paired with i + D/2 and the pair is rotated by the angle
//   a(p, i) = p * theta^(-2i/D):
//   y_i       = x_i cos a - x_{i+D/2} sin a
//   y_{i+D/2} = x_i sin a + x_{i+D/2} cos a
#pragma once
#include <torch/torch.h>

namespace lmlab::model {

struct RopeTables {
  torch::Tensor cos, sin;  // (T, D): the angles of positions start..start+T-1, duplicated per half
};

// Angles computed in fp32 (as HF does) on `device`.
RopeTables rope_tables(int64_t start, int64_t T, int64_t head_dim, double theta, const torch::Device& device);

// x: (B, H, T, D) -> (B, H, T, D), rotated by the tables of its T positions.
torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& rope);

}  // namespace lmlab::model
