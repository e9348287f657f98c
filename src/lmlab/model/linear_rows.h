// x W^T + b as torch::nn::functional::linear computes it, except that a single row on the CPU
// (one decoded token) is one matrix-vector product. OpenBLAS's sgemm packs the whole of W for
// every call, which for one row costs more than the product: in a perf profile of `lmlab
// generate` (quickstart model, 124 tokens) sgemm's packing and its small kernel were 36% of the
// decode. sgemv reads W once, in place. Values agree to float rounding (another summation order).
#pragma once
#include <torch/torch.h>

namespace lmlab::model {

// x (..., in), w (out, in), b (out) or undefined -> (..., out).
inline torch::Tensor linear_rows(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {}) {
  if (!x.device().is_cpu() || x.numel() != w.size(1) || x.scalar_type() != w.scalar_type())
    return torch::nn::functional::linear(x, w, b);
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  const auto row = x.reshape({w.size(1)});
  return (b.defined() ? torch::addmv(b, w, row) : torch::mv(w, row)).view(sizes);
}

inline torch::Tensor linear_rows(const torch::nn::Linear& l, const torch::Tensor& x) {
  return linear_rows(x, l->weight, l->bias);
}

}  // namespace lmlab::model
