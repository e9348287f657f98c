// Strict scanner for model.vocab and model.merges (tokenizer_json_scan.h). Any surprise throws
// NotSimple, which split_large_fields turns into nullopt: the full parser then reads the file.
#include "lmlab/tokenizer/tokenizer_json_scan.h"

namespace lmlab::tokenizer {
namespace {

struct NotSimple {};

class Scanner {
 public:
  Scanner(std::string_view text, LargeFields& out) : s_(text), out_(out) {}

  size_t pos = 0;

  void ws() {
    while (pos < s_.size() && (s_[pos] == ' ' || s_[pos] == '\n' || s_[pos] == '\r' || s_[pos] == '\t')) ++pos;
  }
  void expect(char c) {
    ws();
    if (pos >= s_.size() || s_[pos] != c) throw NotSimple{};
    ++pos;
  }
  // After ws(): true and consumed when the next byte is `c`.
  bool take(char c) {
    ws();
    if (pos < s_.size() && s_[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  // A string's content; views into the text unless it has escapes.
  std::string_view string() {
    expect('"');
    const size_t begin = pos;
    while (pos < s_.size() && s_[pos] != '"' && s_[pos] != '\\') {
      if (static_cast<unsigned char>(s_[pos]) < 0x20) throw NotSimple{};  // JSON forbids raw controls
      ++pos;
    }
    if (pos >= s_.size()) throw NotSimple{};
    if (s_[pos] == '"') return s_.substr(begin, pos++ - begin);
    std::string& text = out_.unescaped.emplace_back(s_.substr(begin, pos - begin));
    while (pos < s_.size() && s_[pos] != '"') {
      const char c = s_[pos++];
      if (static_cast<unsigned char>(c) < 0x20) throw NotSimple{};
      if (c != '\\') {
        text += c;
        continue;
      }
      text += unescape();
    }
    if (pos >= s_.size()) throw NotSimple{};
    ++pos;
    return text;
  }

  // The value after "key": and its byte range [begin, end), skipped without parsing it (the
  // full parser checks it when it reads the rest).
  std::pair<size_t, size_t> skip_value() {
    ws();
    const size_t begin = pos;
    int depth = 0;
    while (pos < s_.size()) {
      const char c = s_[pos];
      if (c == '"') {
        string();
        if (depth == 0) break;
        continue;
      }
      if (depth == 0 && (c == ',' || c == '}' || c == ']')) break;
      ++pos;
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) break;
    }
    if (depth != 0 || pos == begin) throw NotSimple{};
    return {begin, pos};
  }

  uint64_t integer(uint64_t max) {
    ws();
    const size_t begin = pos;
    uint64_t v = 0;
    while (pos < s_.size() && s_[pos] >= '0' && s_[pos] <= '9' && v < max) v = v * 10 + static_cast<uint64_t>(s_[pos++] - '0');
    const bool leading_zero = pos - begin > 1 && s_[begin] == '0';
    if (pos == begin || leading_zero || v >= max) throw NotSimple{};
    if (pos < s_.size() && (s_[pos] == '.' || s_[pos] == 'e' || s_[pos] == 'E')) throw NotSimple{};
    return v;
  }

 private:
  // After a backslash: the escaped character as UTF-8 (surrogates are left to the full parser).
  std::string unescape() {
    if (pos >= s_.size()) throw NotSimple{};
    switch (s_[pos++]) {
      case '"': return "\"";
      case '\\': return "\\";
      case '/': return "/";
      case 'b': return "\b";
      case 'f': return "\f";
      case 'n': return "\n";
      case 'r': return "\r";
      case 't': return "\t";
      case 'u': break;
      default: throw NotSimple{};
    }
    if (pos + 4 > s_.size()) throw NotSimple{};
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos++];
      cp = cp * 16 + static_cast<uint32_t>(h >= '0' && h <= '9'   ? h - '0'
                                           : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                  : throw NotSimple{});
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) throw NotSimple{};
    std::string utf8;
    if (cp < 0x80) {
      utf8 += static_cast<char>(cp);
    } else if (cp < 0x800) {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      utf8 += static_cast<char>(0xE0 | (cp >> 12));
      utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return utf8;
  }

  std::string_view s_;
  LargeFields& out_;
};

// Calls member(key) for each member of the object at sc.pos, which must leave sc.pos after the
// member's value. Keys with escapes are refused: "voc\u0061b" is "vocab" to the full parser.
template <class Member>
void members(Scanner& sc, std::string_view text, Member&& member) {
  sc.expect('{');
  if (sc.take('}')) return;
  do {
    sc.ws();
    const size_t key_begin = sc.pos;
    std::string_view key = sc.string();
    if (key.data() != text.data() + key_begin + 1) throw NotSimple{};
    sc.expect(':');
    member(key);
  } while (sc.take(','));
  sc.expect('}');
}

}  // namespace

std::optional<LargeFields> split_large_fields(std::string_view text, uint64_t max_id) {
  LargeFields out;
  Scanner sc(text, out);
  std::pair<size_t, size_t> vocab{0, 0}, merges{0, 0};
  try {
    bool seen_model = false;
    members(sc, text, [&](std::string_view key) {
      if (key != "model") return (void)sc.skip_value();
      sc.ws();
      if (seen_model || sc.pos >= text.size() || text[sc.pos] != '{') throw NotSimple{};
      seen_model = true;
      members(sc, text, [&](std::string_view field) {
        sc.ws();
        const size_t begin = sc.pos;
        if (field == "vocab") {
          if (vocab.second) throw NotSimple{};
          sc.expect('{');
          if (!sc.take('}')) {
            do {
              std::string_view token = sc.string();
              sc.expect(':');
              out.vocab.emplace_back(token, static_cast<uint32_t>(sc.integer(max_id)));
            } while (sc.take(','));
            sc.expect('}');
          }
          vocab = {begin, sc.pos};
        } else if (field == "merges") {
          if (merges.second) throw NotSimple{};
          sc.expect('[');
          if (!sc.take(']')) {
            do {
              if (sc.take('[')) {
                std::string_view left = sc.string();
                sc.expect(',');
                out.merges.emplace_back(left, sc.string());
                sc.expect(']');
                continue;
              }
              std::string_view pair = sc.string();
              const size_t space = pair.find(' ');
              if (space == std::string_view::npos || pair.find(' ', space + 1) != std::string_view::npos) throw NotSimple{};
              out.merges.emplace_back(pair.substr(0, space), pair.substr(space + 1));
            } while (sc.take(','));
            sc.expect(']');
          }
          merges = {begin, sc.pos};
        } else {
          sc.skip_value();
        }
      });
    });
    sc.ws();
    if (sc.pos != text.size() || !vocab.second || !merges.second) throw NotSimple{};
  } catch (const NotSimple&) {
    return std::nullopt;
  }
  // Both fields replaced by an empty value of their type, in the order they appear.
  std::vector<std::pair<std::pair<size_t, size_t>, const char*>> cut = {{vocab, "{}"}, {merges, "[]"}};
  if (merges.first < vocab.first) std::swap(cut[0], cut[1]);
  size_t at = 0;
  for (const auto& [range, empty] : cut) {
    out.rest.append(text.substr(at, range.first - at)).append(empty);
    at = range.second;
  }
  out.rest.append(text.substr(at));
  return out;
}

}  // namespace lmlab::tokenizer
