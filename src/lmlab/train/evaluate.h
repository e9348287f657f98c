// Validation loss and per-position validation loss (what the Temporal Scaling Law fits):
//   loss_i = mean over the validation windows that keep position i of -log p(x_{i+1} | x_0..x_i)
//   se_i   = sample sd of those losses / sqrt(their count)        (the noise of loss_i)
//   loss   = mean_i loss_i,  i = 0..T-1
// over fixed windows — data::eval_window_starts (every position kept) or, with eval.windows_at
// = "doc_start", doc_windows.h's document starts (positions after the first document dropped) —
// summed across data-parallel ranks.
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
  std::vector<double> position_loss;   // (T)
  std::vector<double> position_se;     // (T) standard error of position_loss (0 with one window)
  std::vector<int64_t> position_count;  // (T) windows that kept each position
  int64_t windows = 0;
};

// The fixed windows of one evaluation on this rank: their start offsets and, when
// mask_after_eot >= 0, that id ends the first document of each window (doc_windows.h).
struct EvalWindows {
  std::vector<int64_t> starts;
  int64_t mask_after_eot = -1;
};

EvalResult evaluate_window_set(const data::TokenShard& val, int64_t seq_len, const EvalWindows& windows,
                               int64_t batch_size, const torch::Device& device, const LogitsFn& logits_of,
                               const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum);

// The spread windows of data::eval_window_starts through evaluate_window_set. `logits_of` maps
// inputs (B, T) on `device` to logits (B, T, V); `all_reduce_sum` sums tensors over ranks
// (identity on one rank).
EvalResult evaluate_windows(const data::TokenShard& val, int64_t seq_len, int64_t windows, int64_t rank,
                            int64_t world_size, int64_t batch_size, const torch::Device& device,
                            const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                            const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum);

}  // namespace lmlab::train
