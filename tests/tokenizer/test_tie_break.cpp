// TrainOptions::tie_break: which of two equal-count pairs merges first. "lmlab" (the default)
// ranks bytes by value; "hf" ranks them as HF tokenizers' BpeTrainer numbers its alphabet: by the
// code point of each byte's GPT-2 byte-level character. The expected orders here are written from
// that rule directly (the printable bytes 33-126, 161-172, 174-255 are their own code point; the
// other 68 bytes, in byte order, become U+0100 onwards), not from the trainer's table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/tokenizer/trainer.h"
#include "testing.h"

namespace tk = lmlab::tokenizer;

namespace {

tk::TrainOptions options(const std::string& tie_break, uint32_t vocab) {
  tk::TrainOptions o;
  o.vocab_size = vocab;
  o.specials.clear();
  o.tie_break = tie_break;
  o.record_events = true;
  return o;
}

// HF's alphabet order of the 256 bytes (GPT-2's bytes_to_unicode, sorted by code point).
std::vector<int> hf_byte_order() {
  std::vector<int> order;
  auto printable = [](int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; };
  for (int b = 0; b < 256; ++b)
    if (printable(b)) order.push_back(b);
  for (int b = 0; b < 256; ++b)
    if (!printable(b)) order.push_back(b);
  return order;
}

// One word "xq" per byte x, each once: 256 pairs (x, q) of count 1, all tied. Merging one makes no
// new pair (each word is two symbols), so the merges come out exactly in the tie-break order of x.
std::vector<int> tie_order(const std::string& tie_break) {
  static std::vector<std::string> storage;  // the word views must outlive the call
  storage.clear();
  for (int b = 0; b < 256; ++b) storage.push_back({static_cast<char>(b), 'q'});
  tk::WordCounts w;
  for (const std::string& s : storage) {
    w.words.push_back(s);
    w.counts.push_back(1);
    w.total_bytes += 2;
  }
  tk::TrainResult r = tk::train_words(w, options(tie_break, 512));
  std::vector<int> order;
  for (const std::string& e : r.events) order.push_back(static_cast<unsigned char>(e.at(6)));  // "merge x+q"
  EXPECT_EQ(r.events.size(), 256u);
  return order;
}

}  // namespace

TEST(TieBreak, DefaultRanksBytesByValue) {
  std::vector<int> by_value(256);
  std::iota(by_value.begin(), by_value.end(), 0);
  EXPECT_EQ(tie_order("lmlab"), by_value);
}

TEST(TieBreak, HfRanksBytesByByteLevelCodePoint) {
  std::vector<int> order = tie_order("hf");
  EXPECT_EQ(order, hf_byte_order());
  // Spot checks of the rule: '!' (U+0021) first, 'ÿ' (U+00FF) before byte 0 ('Ā', U+0100), the
  // space ('Ġ', U+0120) after every printable byte, the soft hyphen 0xAD ('Ń', U+0143) last.
  EXPECT_EQ(order.front(), '!');
  EXPECT_EQ(order[187], 0xFF);
  EXPECT_EQ(order[188], 0x00);
  EXPECT_EQ(order[188 + 32], ' ');
  EXPECT_EQ(order.back(), 0xAD);
}

TEST(TieBreak, SpaceBeforeOrAfterLettersOnRealPreTokens) {
  // "ab a": pre-tokens "ab" and " a", pairs (a, b) and (' ', a) once each. lmlab merges " a" first
  // (0x20 < 0x61); HF merges "ab" first ('a' U+0061 < 'Ġ' U+0120).
  EXPECT_EQ(tk::train({"ab a"}, options("lmlab", 258)).events, (std::vector<std::string>{"merge  +a", "merge a+b"}));
  EXPECT_EQ(tk::train({"ab a"}, options("hf", 258)).events, (std::vector<std::string>{"merge a+b", "merge  +a"}));
}

TEST(TieBreak, MergedTokensFollowTheBytesUnderBothRules) {
  // Words xy x3, xyz, "~w", "\xFFw", " w" once each: after x+y (4), the pairs (xy, z), (~, w),
  // (0xFF, w) and (' ', w) tie at 1. Merged ids (xy = 256) come after every byte under both rules;
  // among the bytes, lmlab ranks ' ' (32) < '~' (126) < 0xFF, HF '~' (U+007E) < 'ÿ' (U+00FF) < 'Ġ'.
  static const std::vector<std::string> list = {"xy", "xyz", "~w", "\xFFw", " w"};
  tk::WordCounts w;
  for (const std::string& s : list) {
    w.words.push_back(s);
    w.counts.push_back(s == "xy" ? 3 : 1);
    w.total_bytes += s.size() * w.counts.back();
  }
  using Events = std::vector<std::string>;
  EXPECT_EQ(tk::train_words(w, options("lmlab", 261)).events,
            (Events{"merge x+y", "merge  +w", "merge ~+w", "merge \xFF+w", "merge xy+z"}));
  EXPECT_EQ(tk::train_words(w, options("hf", 261)).events,
            (Events{"merge x+y", "merge ~+w", "merge \xFF+w", "merge  +w", "merge xy+z"}));
}

TEST(TieBreak, UnknownRuleIsAUserError) {
  EXPECT_THROW(tk::train({"ab a"}, options("spm", 258)), lmlab::UserError);
}

TEST(TieBreak, CommandLineOption) {
  lmlab::test::TempDir dir;
  lmlab::test::write_text(dir.file("in.txt"), "ab a");
  const std::string train = "tokenizer train --vocab-size 258 --no-specials --input " + dir.file("in.txt") + " --output ";
  using Merges = std::vector<std::string>;
  for (const auto& [option, merges] : {std::pair<std::string, Merges>{"", {"Ġ a", "a b"}},
                                       {" --tie-break lmlab", {"Ġ a", "a b"}},
                                       {" --tie-break hf", {"a b", "Ġ a"}}}) {
    auto r = lmlab::test::run_lmlab(train + dir.file("t.json") + option);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto json = nlohmann::json::parse(lmlab::read_file(dir.file("t.json")));
    EXPECT_EQ(json["model"]["merges"].get<Merges>(), merges) << option;
  }
  auto r = lmlab::test::run_lmlab(train + dir.file("bad.json") + " --tie-break spm");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "lmlab: error: --tie-break: spm not in {lmlab,hf} (see --help)\n");
  EXPECT_FALSE(lmlab::file_exists(dir.file("bad.json")));
}
