// Dialogues for the encoder: the positive dialogues of a response-selection TSV, tokenised
// once, and the (context, response) pairs the official Dial-MAE code builds from them:
//   prefix pairs  (fine-tuning, dialogue_finetune):  context = u[0, i), response = u[i],
//                 i = 1 .. n-1, skipping contexts of fewer than min_context_tokens tokens
//   window pairs  (post-training, make_data.py):      the full pair u[0, n-1) -> u[n-1], plus for
//                 every start s up to num_window distinct sizes w in [1, min(max_window, n-1-s)]
//                 drawn at random: u[s, s+w) -> u[s+w] (a window equal to the full pair is not repeated)
// Sequences (official truncation):
//   context   [CLS] u_b [SEP] u_b+1 [SEP] ... u_e-1 [SEP], keeping the LAST tokens
//   response  [CLS] r [SEP], keeping the FIRST tokens
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/data/text_records.h"
#include "lmlab/train/tasks/encoder_inputs.h"

namespace lmlab::train {

using TokenTurns = std::vector<std::vector<int64_t>>;  // one dialogue: text ids per utterance

// The label-1 lines of `examples` as dialogues (context utterances, then the response).
std::vector<TokenTurns> positive_dialogues(const std::vector<data::ResponseExample>& examples,
                                           const tokenizer::Tokenizer& tok);

struct DialoguePair {
  int64_t dialogue = 0, begin = 0, end = 0;  // context = turns[begin, end), response = turns[end]
};
std::vector<DialoguePair> prefix_pairs(const std::vector<TokenTurns>& dialogues, int64_t min_context_tokens);
std::vector<DialoguePair> window_pairs(const std::vector<TokenTurns>& dialogues, int64_t num_window,
                                       int64_t max_window, uint64_t seed);

std::vector<int64_t> context_sequence(const TokenTurns& turns, int64_t begin, int64_t end, const EncoderSpecials& sp,
                                      int64_t max_len);
std::vector<int64_t> response_sequence(const std::vector<int64_t>& ids, const EncoderSpecials& sp, int64_t max_len);

// Every pair's context and response sequences, built once.
struct PairSequences {
  std::vector<std::vector<int64_t>> contexts, responses;
  int64_t size() const { return static_cast<int64_t>(contexts.size()); }
};
PairSequences pair_sequences(const std::vector<TokenTurns>& dialogues, const std::vector<DialoguePair>& pairs,
                             const EncoderSpecials& sp, int64_t context_len, int64_t response_len);

}  // namespace lmlab::train
