// Inputs of a bidirectional encoder from text: the special ids it adds after a tokenizer's V
// ids and the [CLS] text [SEP] sequences, padded into a batch.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/data/batch_source.h"

namespace lmlab::tokenizer {
class Tokenizer;
}

namespace lmlab::train {

// [PAD] = V, [CLS] = V+1, [SEP] = V+2, [MASK] = V+3; the encoder's vocabulary is V + 4.
struct EncoderSpecials {
  int64_t text_vocab = 0;
  int64_t pad() const { return text_vocab; }
  int64_t cls() const { return text_vocab + 1; }
  int64_t sep() const { return text_vocab + 2; }
  int64_t mask() const { return text_vocab + 3; }
  int64_t vocab_size() const { return text_vocab + 4; }
  bool is_special(int64_t id) const { return id >= text_vocab; }
};

// Fills model.vocab_size (0) with sp.vocab_size(); a UserError naming `source` when it is set
// to anything else.
void resolve_encoder_vocab(int64_t& vocab_size, const EncoderSpecials& sp, const std::string& source);

// [CLS] ids(text) [SEP], the text's ids cut so the whole is at most max_len long. Without
// `with_cls`: ids(text) alone, cut to max_len ([SEP] for an empty text), so pooling reads the
// first text token.
std::vector<int64_t> encoder_sequence(const tokenizer::Tokenizer& tok, const std::string& text,
                                      const EncoderSpecials& sp, int64_t max_len, bool with_cls = true);

// {"ids": (B, T) int64 padded with [PAD], "pad_mask": (B, T) bool, true at real tokens},
// T = the longest of `seqs`.
data::NamedBatch pad_sequences(const std::vector<const std::vector<int64_t>*>& seqs, const EncoderSpecials& sp);

}  // namespace lmlab::train
