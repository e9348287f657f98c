// Pre-tokenizer: the GPT-2 / GPT-4 split patterns on hand-checked strings, the ASCII fast path
// against PCRE2 alone on random strings, invalid UTF-8, digits, safe chunk cuts, special tokens.
#include <gtest/gtest.h>

#include <random>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/pretokenizer.h"

namespace tk = lmlab::tokenizer;

namespace {

std::vector<std::string> split(const std::string& name, const std::string& text, bool digits = false, bool fast = true) {
  tk::PreTokenizer p(tk::pretokenizer_pattern(name), digits, fast);
  std::vector<std::string_view> pieces;
  p.split(text, pieces);
  return {pieces.begin(), pieces.end()};
}

using V = std::vector<std::string>;

}  // namespace

TEST(PreTokenizer, Gpt2HandChecked) {
  EXPECT_EQ(split("gpt2", "Hello world's  end\n"), (V{"Hello", " world", "'s", " ", " end", "\n"}));
  EXPECT_EQ(split("gpt2", "x=12.5;  \tok"), (V{"x", "=", "12", ".", "5", ";", "  ", "\t", "ok"}));
  EXPECT_EQ(split("gpt2", "I'VE"), (V{"I", "'", "VE"}));  // GPT-2's contractions are case-sensitive
  EXPECT_EQ(split("gpt2", "caf\xC3\xA9 na\xC3\xAFve"), (V{"caf\xC3\xA9", " na\xC3\xAFve"}));
}

TEST(PreTokenizer, Gpt4HandChecked) {
  EXPECT_EQ(split("gpt4", "I'VE 1234 apples\r\n\n  x"),
            (V{"I", "'VE", " ", "123", "4", " apples", "\r\n\n", " ", " x"}));
  EXPECT_EQ(split("gpt4", "(hello) ..\n\nok"), (V{"(hello", ")", " ..\n\n", "ok"}));
}

TEST(PreTokenizer, WhitespaceIsUnicodeWhiteSpace) {
  // U+0085 is White_Space (Oniguruma/Rust \s) but not PCRE2's \s: two whitespace pieces here.
  EXPECT_EQ(split("gpt2", "\xC2\x85\xC2\x85x"), (V{"\xC2\x85", "\xC2\x85", "x"}));
  EXPECT_EQ(split("gpt2", "a\xC2\xA0\xC2\xA0" "b"), (V{"a", "\xC2\xA0", "\xC2\xA0", "b"}));
}

TEST(PreTokenizer, InvalidUtf8IsItsOwnPiece) {
  EXPECT_EQ(split("gpt2", "ab\xFF\xFE" "cd"), (V{"ab", "\xFF\xFE", "cd"}));
  EXPECT_EQ(split("gpt2", " \xE4\xB8 x"), (V{" ", "\xE4\xB8", " x"}));          // truncated sequence
  EXPECT_EQ(split("gpt2", "\xED\xA0\x80"), (V{"\xED\xA0\x80"}));               // a surrogate
  EXPECT_EQ(split("gpt2", "\xC0\xAF" "a"), (V{"\xC0\xAF", "a"}));               // overlong '/'
}

TEST(PreTokenizer, SingleDigits) {
  EXPECT_EQ(split("gpt2", "abc 2024x", true), (V{"abc", " ", "2", "0", "2", "4", "x"}));
  EXPECT_EQ(split("gpt2", "\xD9\xA3\xD9\xA4", true), (V{"\xD9\xA3", "\xD9\xA4"}));  // Arabic-Indic digits
}

TEST(PreTokenizer, AsciiFastPathEqualsPcre2) {
  const std::vector<std::string> alphabet = {"a", "Z", "s", "t", "e", "l", "v", "r", "0", "7", " ", " ", "\n", "\r",
                                             "\t", "\x0B", "'", "S", ".", "!", "\x01", "\x7F", "\xC3\xA9",
                                             "\xC2\xA0", "\xC2\x85", "\xD9\xA3", "\xC5\xBF", "\xE4\xB8\xAD", "\xFF"};
  std::mt19937 rng(7);
  for (const char* name : {"gpt2", "gpt4"}) {
    for (int trial = 0; trial < 3000; ++trial) {
      std::string text;
      int n = static_cast<int>(rng() % 24);
      for (int i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
      ASSERT_EQ(split(name, text, false, true), split(name, text, false, false)) << name << " on [" << text << "]";
    }
  }
}

TEST(PreTokenizer, PiecesTileRandomBytes) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 500; ++trial) {
    std::string text(rng() % 200, '\0');
    for (char& c : text) c = static_cast<char>(rng());
    for (const char* name : {"gpt2", "gpt4"}) {
      std::string joined;
      for (const auto& p : split(name, text, trial % 2 == 0)) {
        ASSERT_FALSE(p.empty());
        joined += p;
      }
      ASSERT_EQ(joined, text);
    }
  }
}

TEST(PreTokenizer, SafeCutsDoNotChangePieces) {
  std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt")).substr(0, 300000);
  std::vector<std::string> specials = {"<|endoftext|>"};
  for (const char* name : {"gpt2", "gpt4"}) {
    tk::PreTokenizer p(tk::pretokenizer_pattern(name), false);
    std::vector<std::string_view> whole, parts;
    p.split(text, whole);
    std::vector<size_t> cuts = tk::safe_cuts(text, 16, specials);
    ASSERT_GE(cuts.size(), 10u);
    cuts.insert(cuts.begin(), 0);
    cuts.push_back(text.size());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) p.split(std::string_view(text).substr(cuts[i], cuts[i + 1] - cuts[i]), parts);
    ASSERT_EQ(whole.size(), parts.size()) << name;
    for (size_t i = 0; i < whole.size(); ++i) ASSERT_EQ(whole[i], parts[i]);
  }
}

TEST(PreTokenizer, SpecialTokensLeftmostLongest) {
  std::vector<std::pair<std::string, int>> got;
  tk::split_specials("a<|x|>b<|xy|><|x|>", {"<|x|>", "<|xy|>"},
                     [&](std::string_view piece, int special) { got.push_back({std::string(piece), special}); });
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>{{"a", -1}, {"<|x|>", 0}, {"b", -1}, {"<|xy|>", 1}, {"<|x|>", 0}}));
}

TEST(PreTokenizer, UnknownNameIsUserError) {
  EXPECT_THROW(tk::pretokenizer_pattern("gpt3"), lmlab::UserError);
}

TEST(PreTokenizer, ABacktrackingSplitPatternIsAUserError) {
  lmlab::tokenizer::PreTokenizer pt("(a+)+\\d", false, false);
  std::vector<std::string_view> out;
  const std::string text(64, 'a');  // 2^64 ways to fail: PCRE2's match limit stops it
  try {
    pt.split(text, out);
    ADD_FAILURE() << "no error";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("pre-tokenizer pattern '(a+)+\\d'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("backtracks too much"), std::string::npos) << e.what();
  }
}
