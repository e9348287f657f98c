// Validation windows that start at document starts (eval.windows_at = "doc_start"), for the
// per-position loss the Temporal Scaling Law fits (docs/scaling.md). Packed windows start
// anywhere, so their position i is often deep inside a document, or just after a boundary with
// no context at all: the loss-vs-position curve is blurred. Here window k begins with the first
// token of a document, and position i counts only while its input is still in that document:
//   position i of a window is kept  <=>  none of its inputs x_1..x_i is <|endoftext|>
// (so the prediction of the document's closing <|endoftext|> is kept, everything after it is not).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lmlab/data/shards.h"

namespace lmlab::train {

// Every document start of the shard (offset 0 and each offset right after an `eot` id that is
// not itself `eot`) whose window of seq_len + 1 ids fits in the shard. One scan; the shard is
// the validation split, small.
std::vector<int64_t> document_starts(const data::TokenShard& shard, uint32_t eot, int64_t seq_len);

// `count` of those starts (all of them if there are fewer), spread evenly over them — start k of
// D is the floor(k * D / count)-th — dealt round-robin to the ranks, like data::eval_window_starts.
// UserError naming the shard when no document start leaves room for a window.
std::vector<int64_t> document_window_starts(const data::TokenShard& shard, uint32_t eot, int64_t seq_len,
                                            int64_t count, int64_t rank, int64_t world_size);

// targets (B, T) int64 of windows that start at a document start -> (B, T) bool: true where the
// position's input is still in the first document (formula above; x_i = y_{i-1} for i >= 1).
torch::Tensor first_document_mask(const torch::Tensor& targets, int64_t eot);

}  // namespace lmlab::train
