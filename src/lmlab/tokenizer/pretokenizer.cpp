// PCRE2 JIT pre-tokenizer (see pretokenizer.h for the patterns and the invalid-UTF-8 rule).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lmlab/tokenizer/pretokenizer.h"

#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "lmlab/common/error.h"
#include "lmlab/tokenizer/ascii_scanner.h"

namespace lmlab::tokenizer {
namespace {

const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* kGpt4 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Unicode White_Space, the meaning of \s in Oniguruma and Rust regex.
const char* kWhiteSpace =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// Rewrites \s and \S (outside and inside character classes) to the White_Space set.
std::string to_pcre2(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      if (e == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (e == 'S') {
        if (in_class) throw UserError("pre-tokenizer pattern: \\S inside a character class is not supported");
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // literal ']'
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

// Per-thread PCRE2 scratch: match data with one pair (all we read) and a JIT stack large
// enough for long whitespace runs under `\s+(?!\S)`.
struct MatchScratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
  MatchScratch() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchScratch() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

}  // namespace

struct PreTokenizer::Regex {
  pcre2_code* code = nullptr;
  bool jit = false;
  std::string pattern;

  explicit Regex(const std::string& pattern_text) : pattern(pattern_text) {
    std::string translated = to_pcre2(pattern);
    int err = 0;
    PCRE2_SIZE offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                         PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw UserError("pre-tokenizer pattern '" + pattern + "': " + reinterpret_cast<const char*>(msg));
    }
    jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  }
  ~Regex() { pcre2_code_free(code); }

  // Next match in subject[start..]: true and [begin, end) set, or false when none.
  bool find(std::string_view subject, size_t start, size_t& begin, size_t& end) const {
    MatchScratch& s = scratch();
    auto* p = reinterpret_cast<PCRE2_SPTR>(subject.data());
    int rc = jit ? pcre2_jit_match(code, p, subject.size(), start, 0, s.data, s.context)
                 : pcre2_match(code, p, subject.size(), start, PCRE2_NO_UTF_CHECK, s.data, s.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      // A resource limit is the pattern's doing (catastrophic backtracking): the user can fix it.
      if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
          rc == PCRE2_ERROR_JIT_STACKLIMIT)
        throw UserError("pre-tokenizer pattern '" + pattern + "': " + reinterpret_cast<const char*>(msg) +
                        " at byte " + std::to_string(start) + " of the text (the pattern backtracks too much)");
      throw std::runtime_error(std::string("pre-tokenizer regex match failed: ") +
                               reinterpret_cast<const char*>(msg));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
    begin = ov[0];
    end = ov[1];
    return true;
  }
};

std::string pretokenizer_pattern(const std::string& name) {
  if (name == "gpt2") return kGpt2;
  if (name == "gpt4") return kGpt4;
  throw UserError("unknown pre-tokenizer '" + name + "' (choose gpt2 or gpt4)");
}

std::string pretokenizer_name(const std::string& pattern) {
  if (pattern == kGpt2) return "gpt2";
  if (pattern == kGpt4) return "gpt4";
  return "custom";
}

PreTokenizer::PreTokenizer(const std::string& pattern, bool split_digits, bool ascii_fast_path)
    : pattern_(pattern), split_digits_(split_digits), regex_(std::make_unique<Regex>(pattern)) {
  if (ascii_fast_path && pattern == kGpt2) fast_ = static_cast<int>(SplitPattern::kGpt2);
  if (ascii_fast_path && pattern == kGpt4) fast_ = static_cast<int>(SplitPattern::kGpt4);
  if (split_digits_) digit_ = std::make_unique<Regex>(R"(\p{N})");
}
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

int utf8_sequence_length(const unsigned char* s, size_t n) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i) { return i < n && (s[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && s[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && s[1] > 0x9F) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && s[1] > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
  auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n) {
      if (s[j] < 0x80) {
        ++j;
        continue;
      }
      int len = utf8_sequence_length(s + j, n - j);
      if (len == 0) break;
      j += static_cast<size_t>(len);
    }
    if (j > i) split_valid_utf8(text.substr(i, j - i), out);
    size_t k = j;
    while (k < n && utf8_sequence_length(s + k, n - k) == 0) ++k;
    if (k > j) out.push_back(text.substr(j, k - j));
    i = k;
  }
}

void PreTokenizer::split_valid_utf8(std::string_view run, std::vector<std::string_view>& out) const {
  size_t pos = 0;
  while (pos < run.size()) {
    if (fast_ >= 0) {
      if (size_t end = ascii_match_end(static_cast<SplitPattern>(fast_), run, pos)) {
        emit(run.substr(pos, end - pos), out);
        pos = end;
        continue;
      }
    }
    size_t b = 0, e = 0;
    if (!regex_->find(run, pos, b, e)) {
      emit(run.substr(pos), out);  // a custom pattern left a tail unmatched: it stays one piece
      return;
    }
    if (b > pos) emit(run.substr(pos, b - pos), out);
    if (e == b) {  // empty match (custom patterns only): step over one character
      e = b + static_cast<size_t>(utf8_sequence_length(
                  reinterpret_cast<const unsigned char*>(run.data()) + b, run.size() - b));
      if (e > run.size()) e = run.size();
    }
    emit(run.substr(b, e - b), out);
    pos = e;
  }
}

void PreTokenizer::emit(std::string_view piece, std::vector<std::string_view>& out) const {
  if (piece.empty()) return;
  if (!split_digits_) {
    out.push_back(piece);
    return;
  }
  bool ascii = true, digit = false;
  for (unsigned char c : piece) {
    ascii &= c < 0x80;
    digit |= c >= '0' && c <= '9';
  }
  if (ascii && !digit) {
    out.push_back(piece);
    return;
  }
  size_t pos = 0, b = 0, e = 0;
  while (pos < piece.size() && digit_->find(piece, pos, b, e)) {
    if (b > pos) out.push_back(piece.substr(pos, b - pos));
    out.push_back(piece.substr(b, e - b));
    pos = e;
  }
  if (pos < piece.size()) out.push_back(piece.substr(pos));
}

size_t longest_special(const std::vector<std::string>& specials) {
  size_t longest = 0;
  for (const auto& sp : specials) longest = std::max(longest, sp.size());
  return longest;
}

namespace {

// Whether `p` (0 < p < text.size()) is a safe cut: between an ASCII letter and a space, and
// inside no occurrence of a special token. No alternative of either pattern matches both a
// letter and a following space, and none looks behind, so a match ends at p in the whole text
// exactly when it does in the piece; special tokens are cut out leftmost first, so one that
// spans no cut is found in its piece as in the whole. Looks at text[p - longest + 1, p + longest).
bool safe_cut_at(std::string_view text, size_t p, const std::vector<std::string>& specials, size_t longest) {
  if (text[p] != ' ' || !std::isalpha(static_cast<unsigned char>(text[p - 1]))) return false;
  if (longest == 0) return true;
  const size_t from = p >= longest ? p - longest + 1 : 0;
  const std::string_view window = text.substr(from, 2 * longest);
  for (const auto& sp : specials)
    for (size_t at = window.find(sp); at != std::string_view::npos; at = window.find(sp, at + 1))
      if (from + at < p && from + at + sp.size() > p) return false;
  return true;
}

}  // namespace

std::vector<size_t> safe_cuts(std::string_view text, size_t parts, const std::vector<std::string>& specials) {
  std::vector<size_t> cuts;
  const size_t longest = longest_special(specials);
  for (size_t k = 1; k < parts; ++k) {
    size_t p = std::max(text.size() * k / parts, cuts.empty() ? size_t(1) : cuts.back() + 1);
    while (p < text.size() && !safe_cut_at(text, p, specials, longest)) ++p;
    if (p >= text.size()) break;
    cuts.push_back(p);
  }
  return cuts;
}

size_t last_safe_cut(std::string_view text, size_t from, const std::vector<std::string>& specials) {
  const size_t longest = longest_special(specials);
  // A special token that might span p must lie wholly inside `text`, or the check would miss
  // its unseen end: p + longest <= size.
  const size_t room = std::max<size_t>(longest, 1);
  if (text.size() <= room) return 0;
  for (size_t p = text.size() - room; p >= std::max<size_t>(from, 1); --p)
    if (safe_cut_at(text, p, specials, longest)) return p;
  return 0;
}

}  // namespace lmlab::tokenizer
