// Masked-LM inputs and labels (BERT; whole-word masking as HF's DataCollatorForWholeWordMask):
//   words     = runs of non-special tokens, a new word at every token with word_start[id]
//               (each token is a word without whole-word masking)
//   n_predict = max(1, round(mask_ratio * non-special tokens)) per sequence
//   chosen    = words in a random order, each taken whole while the total stays <= n_predict
//   each chosen token: [MASK] with p = replace_mask, a random normal token with
//   p = replace_random, unchanged otherwise;  label = its original id, kIgnoreIndex elsewhere.
// Deterministic in the seed, so a resumed run and a fixed evaluation redraw the same masks.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/train/task_config.h"
#include "lmlab/train/tasks/encoder_inputs.h"

namespace lmlab::train {

// word_start[id]: the token's text begins with a space, newline or punctuation (byte-level BPE
// marks word starts so), or it is a special token. Size tok.vocab_size().
std::vector<bool> word_starts(const tokenizer::Tokenizer& tok);

struct MaskedBatch {
  torch::Tensor input, labels;  // (B, T) int64
};

// ids: (B, T) int64 with specials never chosen. `word_start` covers the normal ids (ids beyond
// it count as specials).
MaskedBatch mask_tokens(const torch::Tensor& ids, const std::vector<bool>& word_start, const EncoderSpecials& sp,
                        const MlmConfig& cfg, uint64_t seed);

}  // namespace lmlab::train
