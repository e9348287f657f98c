// Training corpus -> counts of distinct pre-tokens ("words"), counted on several threads over
// chunks cut where pre-tokenization cannot change (safe_cuts). Special tokens are cut out first
// and never counted, so no merge ever crosses a document boundary.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmlab/tokenizer/pretokenizer.h"

namespace lmlab::tokenizer {

struct WordCounts {
  std::vector<std::string_view> words;  // views into the texts passed to count_words, sorted
  std::vector<uint64_t> counts;
  uint64_t total_bytes = 0;             // bytes of ordinary text (specials excluded)
};

WordCounts count_words(const std::vector<std::string>& texts, const PreTokenizer& pretokenizer,
                       const std::vector<std::string>& specials, int threads);

}  // namespace lmlab::tokenizer
