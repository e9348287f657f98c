// A hand-written matcher for the GPT-2 and GPT-4 split patterns on ASCII text, about 10x faster
// than the regex. It returns the end of the match the regex would find at `pos`, or 0 when it
// would have to look at a non-ASCII byte to decide: the caller then asks PCRE2 for this match.
// Equality with the regex is a test (tests/tokenizer/test_pretokenizer.cpp, random strings).
#pragma once
#include <cstddef>
#include <string_view>

namespace lmlab::tokenizer {

enum class SplitPattern { kGpt2, kGpt4 };

// End of the match at `pos` (> pos), or 0 for "undecided". `text` is the whole subject.
size_t ascii_match_end(SplitPattern pattern, std::string_view text, size_t pos);

}  // namespace lmlab::tokenizer
