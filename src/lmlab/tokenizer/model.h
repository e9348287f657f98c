// The tokenizer's data, independent of how it was made (trained here or read from a HF
// tokenizer.json): tokens as raw bytes by id, merges in rank order, special tokens, the
// pre-tokenizer, and for Scaffold-BPE the scaffold set S of the expanded vocabulary E = V ∪ S.
// Ids: model-facing ids are the non-scaffold ones; files we write number V first (the 256
// bytes, then merged tokens in E-order), then the specials, then S (so vocab_size() = |V| + specials).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmlab::tokenizer {

struct Merge {
  uint32_t left, right, result;
};

struct Model {
  std::string algo = "bpe";                // "bpe" or "scaffold"
  std::string pattern;                     // pre-tokenizer split regex (tokenizer.json syntax)
  bool split_digits = false;               // every \p{N} character is its own pre-token
  bool ignore_merges = false;              // HF option: a pre-token that is a token is taken whole
  std::vector<std::string> tokens;         // id -> raw bytes ("" for an id no token uses)
  std::vector<Merge> merges;               // rank order
  std::vector<uint8_t> scaffold;           // id -> 1 for tokens of S
  std::vector<uint64_t> scaffold_count;    // id -> standalone count of a scaffold token at the end of training
  std::vector<std::pair<std::string, uint32_t>> specials;  // content, id

  // 1 + the largest id that is not a scaffold token.
  uint32_t vocab_size() const;
  size_t scaffold_size() const;
  bool is_scaffold(uint32_t id) const { return id < scaffold.size() && scaffold[id]; }
};

// For each id, its shortest decomposition into non-scaffold tokens (Algorithm 2, demolish):
// itself for a normal token; for a scaffold token t the shortest over its merges (a, b) of
// demolish(a) + demolish(b), ties to the lexicographically smaller id sequence.
std::vector<std::vector<uint32_t>> demolish_table(const Model& model);

// Cuts `text` at special tokens (leftmost, then longest): calls piece(text, -1) for ordinary
// text and piece(special, index into specials) for each special token.
template <class Fn>
void split_specials(std::string_view text, const std::vector<std::string>& specials, Fn&& piece);

}  // namespace lmlab::tokenizer

#include "lmlab/tokenizer/model_inl.h"
