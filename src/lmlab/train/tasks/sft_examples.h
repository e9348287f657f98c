// Supervised fine-tuning examples: an instruction record in Stanford Alpaca's prompt template
// (its PROMPT_DICT, the one most instruction sets and checkpoints expect), earlier turns of a
// conversation (LIMA's history) as Instruction/Response pairs before the last one:
//
//   Below is an instruction that describes a task[, paired with an input that provides further
//   context]. Write a response that appropriately completes the request.\n\n
//   [### Instruction:\n{user}\n\n### Response:\n{assistant}\n\n]...      (history, oldest first)
//   ### Instruction:\n{instruction}\n\n[### Input:\n{input}\n\n]### Response:\n
//   {output}<|endoftext|>
//
// Tokens:  ids = encode(prompt) + encode(output) + [eot], cut to seq_len + 1;
//          x = ids[:-1], y = ids[1:] with kIgnoreIndex wherever y is not a response token
//          (loss_on = "response": the output and its eot; "all": every token).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/data/batch_source.h"
#include "lmlab/data/instructions.h"

namespace lmlab::tokenizer {
class Tokenizer;
}

namespace lmlab::train {

struct SftText {
  std::string prompt, response;
};
SftText sft_text(const data::Instruction& ex);

struct SftExample {
  std::vector<int64_t> ids;  // prompt + response + eot, at most seq_len + 1
  int64_t response_start = 0;  // index in ids of the first response token
};

// nullopt-like: an empty `ids` when the prompt leaves no room for a response token.
SftExample tokenize_sft(const tokenizer::Tokenizer& tok, const data::Instruction& ex, int64_t eot, int64_t seq_len);

// {"x", "y"} (B, T) with T = the longest example - 1; x padded with eot, y with kIgnoreIndex.
data::NamedBatch sft_batch(const std::vector<const SftExample*>& examples, int64_t eot, bool response_only);

}  // namespace lmlab::train
