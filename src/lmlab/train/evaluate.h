// Validation loss and per-position validation loss (what the Temporal Scaling Law fits):
//   loss_i = mean over validation windows of -log p(x_{i+1} | x_0..x_i),  i = 0..T-1
//   loss   = mean_i loss_i
// over the fixed windows of data::eval_window_starts, summed across data-parallel ranks.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "lmlab/data/shards.h"

namespace lmlab::train {

struct EvalResult {
  double loss = 0;
  std::vector<double> position_loss;  // (T)
  int64_t windows = 0;
};

// `logits_of` maps inputs (B, T) on `device` to logits (B, T, V); `all_reduce_sum` sums
// tensors over ranks (identity on one rank).
EvalResult evaluate_windows(const data::TokenShard& val, int64_t seq_len, int64_t windows, int64_t rank,
                            int64_t world_size, int64_t batch_size, const torch::Device& device,
                            const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                            const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum);

}  // namespace lmlab::train
