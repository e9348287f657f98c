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

// (B, T) int64 ids on the device -> (B, T, V) logits.
using LogitsFn = std::function<torch::Tensor(const torch::Tensor&)>;
// One batch of scored windows: targets (B, T) int64 on the CPU and their negative
// log-likelihoods in nats, (B, T) float64 on the device.
using WindowNllFn = std::function<void(const torch::Tensor& targets, const torch::Tensor& nll)>;

// The one windowed-loss loop behind the trainer's validation (evaluate_windows) and `lmlab eval
// --tasks val` (eval::shard_perplexity): the windows of `seq_len` + 1 ids at `starts`
// (data::eval_window_starts), `batch_size` at a time, no gradient; each batch goes to `on_batch`,
// which reduces it as its caller needs (per position, per token, per frequency bucket).
void for_each_window_nll(const data::TokenShard& shard, const std::vector<int64_t>& starts, int64_t seq_len,
                         int64_t batch_size, const torch::Device& device, const LogitsFn& logits_of,
                         const WindowNllFn& on_batch);

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
