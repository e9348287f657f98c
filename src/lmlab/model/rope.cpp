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

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// x cos + R x sin written into a new contiguous (B, H, T, D) tensor, with R x = (-x2, x1)
// (forward) or its transpose R^T x = (x2, -x1) (backward). Each half is one product and one
// in-place sum or difference of two rounded products, as the composed formula computes it.
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, bool transpose) {
  const int64_t half = x.size(-1) / 2;
  auto y = at::empty(x.sizes(), x.options());  // contiguous, whatever the layout of x
  at::mul_out(y, x, cos);
  auto y1 = y.narrow(-1, 0, half), y2 = y.narrow(-1, half, half);
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto s1 = sin.narrow(-1, 0, half), s2 = sin.narrow(-1, half, half);
  if (!transpose) {
    y1.sub_(x2 * s1);
    y2.add_(x1 * s2);
  } else {
    y1.add_(x2 * s2);
    y2.sub_(x1 * s1);
  }
  return y;
}

// The rotation with its own backward, dx = R^T-rotate(g): autograd of the composed formula
// (narrow, neg, cat) fills two zero gradients of x and sums them. Values and gradients are those
// of x * cos + cat(-x2, x1) * sin (tests/model/test_layers.cpp); the tables get no gradient.
class Rope : public torch::autograd::Function<Rope> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    return rotate(x, cos, sin, /*transpose=*/false);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto saved = ctx->get_saved_variables();
    return {rotate(grad[0], saved[0], saved[1], /*transpose=*/true), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& rope) {
  TORCH_CHECK(!rope.cos.requires_grad() && !rope.sin.requires_grad(), "apply_rope: the tables take no gradient");
  // The tables are fp32; convert only for other inputs (bf16 under autocast).
  const bool same = rope.cos.scalar_type() == x.scalar_type();
  return Rope::apply(x, same ? rope.cos : rope.cos.to(x.scalar_type()), same ? rope.sin : rope.sin.to(x.scalar_type()));
}

}  // namespace lmlab::model
