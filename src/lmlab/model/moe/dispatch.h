// Dropless token dispatch: y_t = sum_{slots j of t} w_tj * FFN_{e_tj}(u_t), computed by expert
// rather than by token. Assignments are sorted by expert (stable), their tokens gathered into one
// contiguous block per expert, each expert runs one matmul on its block, and the results are put
// back with index_copy into a (N*k, C) buffer (every index written once, so the combine is
// deterministic on every device, unlike an atomic scatter-add) and summed over the k slots.
#pragma once
#include <torch/torch.h>

#include <functional>

namespace lmlab::model::moe {

// fn(e, x_e): expert e on its tokens, (n_e, C) -> (n_e, C).
using ExpertFn = std::function<torch::Tensor(int64_t, const torch::Tensor&)>;

// u (N, C); experts, weights (N, k) with -1 / 0 on unused slots -> (N, C).
torch::Tensor dispatch_combine(const torch::Tensor& u, const torch::Tensor& experts, const torch::Tensor& weights,
                               int64_t n_experts, const ExpertFn& fn);

}  // namespace lmlab::model::moe
