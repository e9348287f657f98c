// Streamed detokenizing for generation: a token's bytes need not end on a UTF-8 character
// boundary (byte-level BPE splits characters), so each step prints the newly complete bytes
// and holds back an unfinished character (at most 3 bytes) until the tokens that finish it
// arrive. Concatenating every push() and the final finish() gives exactly tokenizer.decode() of
// all the ids, invalid UTF-8 included: bytes that no continuation could complete pass through
// at once. Each step costs the new token's bytes, not a decode of the whole continuation.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::eval {

// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence which the
// next bytes could still complete: bytes.size() unless the last 1-3 bytes are a proper prefix
// of a valid multi-byte character.
size_t utf8_complete_prefix(std::string_view bytes);

class TextStream {
 public:
  explicit TextStream(const tokenizer::Tokenizer& tok) : tok_(tok) {}
  std::string push(uint32_t id);  // the bytes that became printable with token `id` (maybe none)
  std::string finish();           // what is still held: an unfinished character at the end

 private:
  const tokenizer::Tokenizer& tok_;
  std::string held_;
};

}  // namespace lmlab::eval
