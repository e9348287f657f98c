// ASCII fast path of the split patterns (see ascii_scanner.h). Alternatives are tried in the
// patterns' order with the regex's greedy/backtracking outcome worked out by hand per case.
#include "lmlab/tokenizer/ascii_scanner.h"

#include <cstdint>

namespace lmlab::tokenizer {
namespace {

enum Class : uint8_t { kEnd, kLetter, kDigit, kSpace, kOther, kNonAscii };

struct Table {
  Class of[256];
  Table() {
    for (int c = 0; c < 256; ++c) {
      if (c >= 0x80) of[c] = kNonAscii;
      else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) of[c] = kLetter;
      else if (c >= '0' && c <= '9') of[c] = kDigit;
      else if (c == ' ' || (c >= '\t' && c <= '\r')) of[c] = kSpace;  // White_Space in ASCII
      else of[c] = kOther;
    }
  }
};
const Table kTable;

struct Cursor {
  std::string_view s;
  bool undecided = false;
  Class at(size_t i) {
    if (i >= s.size()) return kEnd;
    Class c = kTable.of[static_cast<unsigned char>(s[i])];
    if (c == kNonAscii) undecided = true;
    return c;
  }
  char lower(size_t i) {
    Class c = at(i);
    if (c == kEnd || c == kNonAscii) return 0;
    char ch = s[i];
    return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  size_t run(size_t i, Class cls) {
    while (at(i) == cls) ++i;
    return i;
  }
  bool newline(size_t i) { return at(i) == kSpace && (s[i] == '\n' || s[i] == '\r'); }
};

// 's|'t|'re|'ve|'m|'ll|'d (case-insensitive for GPT-4): end of the contraction, or 0.
size_t contraction(Cursor& c, size_t p, bool caseless) {
  if (c.s[p] != '\'') return 0;
  char a = caseless ? c.lower(p + 1) : (c.at(p + 1) == kNonAscii || c.at(p + 1) == kEnd ? 0 : c.s[p + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
  char b = caseless ? c.lower(p + 2) : (c.at(p + 2) == kNonAscii || c.at(p + 2) == kEnd ? 0 : c.s[p + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
  return 0;
}

// \s+(?!\S)|\s+ at a whitespace character.
size_t whitespace(Cursor& c, size_t p) {
  size_t r = c.run(p, kSpace);
  if (c.at(r) == kEnd || r - p == 1) return r;
  return r - 1;  // leave the last space to prefix the next word
}

size_t gpt2(Cursor& c, size_t p) {
  if (size_t e = contraction(c, p, false)) return e;
  size_t q = p + (c.s[p] == ' ' ? 1 : 0);
  switch (c.at(q)) {
    case kLetter: return c.run(q, kLetter);
    case kDigit: return c.run(q, kDigit);
    case kOther: return c.run(q, kOther);
    default: break;
  }
  return whitespace(c, p);
}

size_t gpt4(Cursor& c, size_t p) {
  if (size_t e = contraction(c, p, true)) return e;
  Class first = c.at(p);
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (first == kLetter) return c.run(p, kLetter);
  if ((first == kOther || (first == kSpace && !c.newline(p))) && c.at(p + 1) == kLetter) return c.run(p + 1, kLetter);
  // \p{N}{1,3}
  if (first == kDigit) {
    size_t e = p + 1;
    while (e < p + 3 && c.at(e) == kDigit) ++e;
    return e;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t q = p + (c.s[p] == ' ' ? 1 : 0);
  if (c.at(q) == kOther) {
    size_t e = c.run(q, kOther);
    while (c.newline(e)) ++e;
    return e;
  }
  // \s*[\r\n]+ : up to the last newline of the whitespace run
  size_t r = c.run(p, kSpace);
  for (size_t k = r; k > p; --k)
    if (c.newline(k - 1)) return k;
  return whitespace(c, p);
}

}  // namespace

size_t ascii_match_end(SplitPattern pattern, std::string_view text, size_t pos) {
  Cursor c{text};
  if (c.at(pos) == kNonAscii) return 0;
  size_t end = pattern == SplitPattern::kGpt2 ? gpt2(c, pos) : gpt4(c, pos);
  return c.undecided ? 0 : end;
}

}  // namespace lmlab::tokenizer
