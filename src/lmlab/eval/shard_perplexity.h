// Perplexity of a model on a token shard, i.e. a validation split written by `lmlab data prepare`
// (`lmlab eval --tasks val`). The shard is cut into consecutive windows of seq_len + 1 ids, each
// predicting its last seq_len ids from the window's start, exactly as the trainer's validation
// does (so "loss" here equals the run's val_loss over the same windows). With frequency buckets,
// the per-token losses are also split into the MiLe paper's high / medium / low buckets.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "lmlab/data/shards.h"
#include "lmlab/eval/frequency_buckets.h"
#include "lmlab/eval/task_result.h"
#include "lmlab/train/evaluate.h"

namespace lmlab::eval {

struct ShardPerplexityOptions {
  int64_t seq_len = 128;
  int64_t batch_size = 16;
  int64_t max_windows = 0;  // 0 = every whole window of the shard
  torch::Device device = torch::kCPU;
};

// (B, T) int64 ids -> (B, T, V) logits.
using LogitsFn = train::LogitsFn;

// TaskResult "val": n = windows; metrics loss (mean nats per token), perplexity, tokens and, when
// `buckets` is given (bucket of every id, see assign_frequency_buckets), ppl_high, ppl_medium,
// ppl_low and the share of evaluated tokens in each (share_high, ...).
TaskResult shard_perplexity(const data::TokenShard& shard, const LogitsFn& logits_of, const ShardPerplexityOptions& o,
                            const std::vector<FrequencyBucket>* buckets = nullptr);

}  // namespace lmlab::eval
