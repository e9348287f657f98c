// Pre-tokenization: the text is cut into pieces (pre-tokens) that BPE never merges across.
//  - GPT-2:  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//  - GPT-4 (cl100k): (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//                    ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// matched with PCRE2 (JIT, UTF + UCP). `\s` is rewritten to the Unicode White_Space set, the
// meaning it has in Oniguruma (HF tokenizers) and Rust regex (tiktoken), where PCRE2's own \s
// differs (it lacks U+0085). Invalid UTF-8 cannot be matched by a UTF regex: the text is cut
// into maximal valid runs, each split as if it were the whole text, and every maximal run of
// invalid bytes becomes one pre-token of its own, so any byte string round-trips.
// Optional single-digit split (LLaMA, Scaffold-BPE paper): every \p{N} character alone.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lmlab::tokenizer {

// The split pattern, in the syntax tokenizer.json stores (Oniguruma), for "gpt2" / "gpt4";
// UserError naming the choices otherwise.
std::string pretokenizer_pattern(const std::string& name);
// "gpt2" / "gpt4" when `pattern` is one of ours, else "custom".
std::string pretokenizer_name(const std::string& pattern);

class PreTokenizer {
 public:
  // `pattern` in tokenizer.json syntax; UserError if PCRE2 rejects it. The GPT-2/GPT-4 patterns
  // use a hand-written ASCII matcher where it can decide (off: PCRE2 only, for tests).
  PreTokenizer(const std::string& pattern, bool split_digits, bool ascii_fast_path = true);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Appends the pre-tokens of `text` to `out`; they tile `text` exactly, in order. Thread-safe.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

  const std::string& pattern() const { return pattern_; }
  bool split_digits() const { return split_digits_; }

 private:
  struct Regex;
  void split_valid_utf8(std::string_view run, std::vector<std::string_view>& out) const;
  void emit(std::string_view piece, std::vector<std::string_view>& out) const;

  std::string pattern_;
  bool split_digits_;
  int fast_ = -1;  // SplitPattern of the ASCII matcher, or -1
  std::unique_ptr<Regex> regex_, digit_;
};

// Length of the valid UTF-8 sequence starting at s[0] (1..4), or 0 if it is invalid there
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
int utf8_sequence_length(const unsigned char* s, size_t available);

// Cut positions (sorted, excluding 0 and text.size()) that split `text` into about `parts`
// pieces such that pre-tokenizing the pieces separately gives exactly the pre-tokens of the
// whole: each cut lies between an ASCII letter and a space (for GPT-2, GPT-4 and their
// single-digit variants), and no occurrence of any of `specials` spans it.
std::vector<size_t> safe_cuts(std::string_view text, size_t parts, const std::vector<std::string>& specials);

// The last such cut p >= `from` in `text`, a prefix of a longer stream: also safe there whatever
// follows, as p leaves room after it for the longest special token. 0 if there is none.
size_t last_safe_cut(std::string_view text, size_t from, const std::vector<std::string>& specials);
// The byte length of the longest of `specials`, 0 when there are none: how far from a cut a
// special token spanning it can start or end.
size_t longest_special(const std::vector<std::string>& specials);

}  // namespace lmlab::tokenizer
