// Encoding (Scaffold-BPE paper, Algorithm 2; plain BPE is the case S = ∅):
//   text -> special tokens cut out -> pre-tokens -> per pre-token: rank-ordered BPE over E
//   (repeatedly merge the adjacent pair of lowest merge rank, leftmost first, as HF tokenizers
//   and tiktoken do) -> every scaffold token replaced by its precomputed demolish sequence.
// Results per distinct pre-token are cached per thread, so repeated words cost one lookup.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/pair_map.h"
#include "lmlab/tokenizer/pretokenizer.h"
#include "lmlab/tokenizer/string_id_map.h"

namespace lmlab::tokenizer {

class Encoder {
 public:
  // `model` must outlive the encoder and stay unchanged.
  explicit Encoder(const Model& model);

  // Appends the ids of `text` (special tokens recognised). Thread-safe.
  void encode(std::string_view text, std::vector<uint32_t>& out) const;
  // Same result as encode(), computed on `threads` threads over chunks cut at safe_cuts.
  std::vector<uint32_t> encode_parallel(std::string_view text, int threads) const;
  // One pre-token: BPE over E, then demolish (cached).
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;
  // One pre-token: BPE over E only, scaffold tokens left in (stats, tests).
  void bpe(std::string_view piece, std::vector<uint32_t>& out) const;

  // Concatenated bytes of the tokens; UserError for an id that is not in the vocabulary.
  std::string decode(const std::vector<uint32_t>& ids) const;

  const PreTokenizer& pretokenizer() const { return pretokenizer_; }
  const std::vector<std::string>& special_contents() const { return special_contents_; }
  // Whether the split pattern is one whose safe cuts are known (safe_cuts): not a custom one.
  bool cuttable() const { return cuttable_; }

 private:
  void encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const;
  uint32_t rank(uint32_t left, uint32_t right) const { return merge_rank_.find(pack_pair(left, right)); }
  void bpe_short(std::vector<uint32_t>& syms) const;
  void bpe_long(std::vector<uint32_t>& syms) const;

  const Model& model_;
  PreTokenizer pretokenizer_;
  PairMap merge_rank_;                 // (left, right) -> lowest rank of a merge of that pair
  uint32_t byte_id_[256];
  std::vector<uint32_t> demolish_begin_, demolish_ids_;  // id -> demolish_ids_[begin[id] .. begin[id+1])
  bool has_scaffold_ = false;
  std::vector<std::string> special_contents_;
  std::vector<uint32_t> special_ids_;
  StringIdMap whole_token_{0};         // ignore_merges only
  bool cuttable_;
  uint64_t serial_;                    // identifies this encoder's entries in the thread caches
};

}  // namespace lmlab::tokenizer
