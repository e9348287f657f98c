// Training windows sampled reproducibly from a seed and split across data-parallel ranks.
//
// A shard of N tokens is cut into W = floor((N - T) / T) windows of T+1 tokens (inputs and
// the targets shifted by one) starting at o_e + k*T, k = 0..W-1, where epoch e has its own
// random phase o_e in [0, T) and its own random order of k (Fisher-Yates on mt19937_64 seeded
// from (seed, e), so the order is the same on every platform). Global window g belongs to
// epoch g / W. Global batch b is windows [b*R*B, (b+1)*R*B) and rank r takes the slice
// [r*B, (r+1)*B) of it: ranks never share a window, and 1 rank with batch R*B sees exactly
// the windows R ranks with batch B see together. The loader's whole state is the number of
// batches drawn, so saving and restoring it is exact.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "lmlab/data/shards.h"

namespace lmlab::data {

struct Batch {
  torch::Tensor x, y;  // (B, T) int64 on the CPU: inputs and next-token targets
};

class WindowLoader {
 public:
  WindowLoader(const TokenShard& shard, int64_t seq_len, int64_t batch_per_rank, uint64_t seed, int64_t rank,
               int64_t world_size);

  Batch next();
  int64_t windows_per_epoch() const { return windows_; }
  int64_t batches_drawn() const { return batches_; }

  // {"batches": n, "seed": s, "seq_len": T, "global_batch": R*B}; restore() checks that the
  // run's sampling parameters have not changed (resuming with another batch would silently
  // replay or skip data).
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

  // Start token of global window g (exposed for tests).
  int64_t window_start(int64_t g);

 private:
  const std::vector<int64_t>& order(int64_t epoch);

  const TokenShard& shard_;
  int64_t seq_len_, batch_, rank_, world_;
  uint64_t seed_;
  int64_t windows_ = 0, batches_ = 0;
  int64_t cached_epoch_ = -1, cached_phase_ = 0;
  std::vector<int64_t> cached_order_;
};

// Inputs/targets of the windows starting at `starts` (each T+1 tokens long).
Batch windows_at(const TokenShard& shard, const std::vector<int64_t>& starts, int64_t seq_len);

// The fixed validation windows rank `rank` evaluates: `count` of the shard's whole windows
// (all of them if it has fewer), spread evenly over it — window k of A available starts at
// floor(k * A / count) * seq_len — so a split that concatenates several sources (a data-mixture
// validation set) is sampled from all of them; dealt round-robin to the ranks.
std::vector<int64_t> eval_window_starts(const TokenShard& shard, int64_t seq_len, int64_t count, int64_t rank,
                                        int64_t world_size);

}  // namespace lmlab::data
