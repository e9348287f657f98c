// `lmlab data rsel-build` (data/rsel_build.h): normalisation, disjoint splits, 1 positive first +
// 9 negatives from other dialogues of the same split, files the TSV reader reads back, and the
// real LIMA/HC3/Alpaca sources give the documented dialogue counts.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "lmlab/data/rsel_build.h"
#include "lmlab/data/text_records.h"
#include "record_test_util.h"
#include "testing.h"

using lmlab::data::ResponseExample;
using lmlab::test::TempDir;

namespace {

std::string key(const ResponseExample& e) {
  std::string k;
  for (const auto& u : e.context) k += u + "\t";
  return k;
}

// n tiny dialogues in each source format; LIMA ones with one history turn.
lmlab::data::RselBuildOptions tiny_sources(const TempDir& dir, int n) {
  std::string lima = "[", alpaca = "[", hc3;
  for (int i = 0; i < n; ++i) {
    const std::string s = std::to_string(i), c = i ? "," : "";
    lima += c + R"({"instruction": "lima q)" + s + R"(", "input": "", "output": "lima\ta)" + s +
            R"(", "history": [["hi )" + s + R"(", "hello\n)" + s + R"("]]})";
    alpaca += c + R"({"instruction": "alpaca q)" + s + R"(", "input": "x)" + s + R"(", "output": "alpaca a)" + s + R"("})";
    hc3 += R"({"question": "hc3 q)" + s + R"(", "human_answers": ["hc3 a)" + s + R"("], "chatgpt_answers": []})" "\n";
  }
  hc3 += R"({"question": "hc3 q0", "human_answers": ["a duplicate context"]})" "\n";
  hc3 += R"({"question": "   ", "human_answers": ["an empty question"]})" "\n";
  lmlab::test::write_text(dir.file("lima.json"), lima + "]");
  lmlab::test::write_text(dir.file("alpaca.json"), alpaca + "]");
  lmlab::test::write_text(dir.file("hc3.jsonl"), hc3);
  lmlab::data::RselBuildOptions o;
  o.lima = dir.file("lima.json");
  o.alpaca = dir.file("alpaca.json");
  o.hc3 = {dir.file("hc3.jsonl")};
  o.output = dir.file("set");
  o.valid_dialogues = 12;
  o.test_dialogues = 15;
  return o;
}

}  // namespace

TEST(RselBuild, NormalisesWhitespaceAndCutsAtACharacterBoundary) {
  using lmlab::data::normalise_utterance;
  EXPECT_EQ(normalise_utterance("  a\tb\r\n\nc  ", 0), "a b c");
  EXPECT_EQ(normalise_utterance("ab\xC3\xA9z", 3), "ab");  // é is 2 bytes: not split
  EXPECT_EQ(normalise_utterance("ab\xC3\xA9z", 4), "ab\xC3\xA9");
  EXPECT_EQ(normalise_utterance("abc def", 4), "abc");
}

TEST(RselBuild, SplitsAreDisjointAndEachContextHasOnePositiveFirstAndNineOtherNegatives) {
  TempDir dir;
  auto o = tiny_sources(dir, 40);
  nlohmann::json meta = lmlab::data::build_rsel_set(o);
  EXPECT_EQ(meta["dialogues_after_dedup"], 120);  // the duplicate and the empty HC3 question are dropped
  std::map<std::string, std::set<std::string>> contexts, responses;
  for (const std::string split : {"train", "valid", "test"}) {
    auto ex = lmlab::data::read_response_tsv(o.output + "/" + split + ".tsv");
    const size_t per = split == "train" ? 2 : 10;
    ASSERT_EQ(ex.size() % per, 0u);
    EXPECT_EQ(ex.size() / per, meta["splits"][split]["dialogues"].get<size_t>());
    std::set<std::string> positives;
    for (size_t g = 0; g < ex.size(); g += per) {
      EXPECT_EQ(ex[g].label, 1);
      contexts[split].insert(key(ex[g]));
      positives.insert(ex[g].response);
      std::set<std::string> seen = {ex[g].response};
      for (size_t i = g + 1; i < g + per; ++i) {
        EXPECT_EQ(ex[i].label, 0);
        EXPECT_EQ(key(ex[i]), key(ex[g]));
        EXPECT_TRUE(seen.insert(ex[i].response).second) << "a negative repeats the positive or another negative";
        responses[split].insert(ex[i].response);
      }
      for (const auto& u : ex[g].context) EXPECT_EQ(u.find_first_of("\t\n"), std::string::npos);
    }
    for (const auto& r : responses[split]) EXPECT_TRUE(positives.count(r)) << split << ": negative from another split: " << r;
  }
  EXPECT_EQ(contexts["test"].size(), 15u);
  EXPECT_EQ(contexts["valid"].size(), 12u);
  for (const auto& c : contexts["test"]) EXPECT_FALSE(contexts["train"].count(c) || contexts["valid"].count(c));
  for (const auto& c : contexts["valid"]) EXPECT_FALSE(contexts["train"].count(c));
  // LIMA's history makes 3-utterance contexts; tabs inside a turn became spaces.
  bool lima_seen = false;
  for (const auto& e : lmlab::data::read_response_tsv(o.output + "/train.tsv"))
    if (e.context[0].rfind("hi ", 0) == 0) {
      lima_seen = true;
      EXPECT_EQ(e.context.size(), 3u);
      if (e.label == 1) {
        EXPECT_EQ(e.response.rfind("lima a", 0), 0u);
      }
    }
  EXPECT_TRUE(lima_seen);
  // The same seed gives the same files.
  std::string test1 = lmlab::test::read_text(o.output + "/test.tsv");
  o.output = dir.file("again");
  lmlab::data::build_rsel_set(o);
  EXPECT_EQ(lmlab::test::read_text(o.output + "/test.tsv"), test1);
}

TEST(RselBuild, ASplitTooSmallForTenCandidatesIsAUserError) {
  TempDir dir;
  auto o = tiny_sources(dir, 5);  // 15 dialogues: 15 for test leaves nothing
  EXPECT_NE(lmlab::test::user_error_of([&] { lmlab::data::build_rsel_set(o); }).find("the valid split would hold 0"),
            std::string::npos);
}

TEST(RselBuild, RealSourcesGiveTheDocumentedCounts) {
  LMLAB_SHARED_FILE_OR_SKIP(lima, "sft/lima/lima.json");
  LMLAB_SHARED_FILE_OR_SKIP(alpaca, "sft/alpaca/alpaca_5000.json");
  LMLAB_SHARED_FILE_OR_SKIP(open_qa, "hc3/hc3_official/en/open_qa.jsonl");
  LMLAB_SHARED_FILE_OR_SKIP(medicine, "hc3/hc3_official/en/medicine.jsonl");
  lmlab::data::RselBuildOptions o;
  o.lima = lima;
  o.alpaca = alpaca;
  o.hc3 = {open_qa, medicine};
  std::map<std::string, int> by_source;
  int multi_turn = 0;
  for (const auto& d : lmlab::data::read_rsel_sources(o)) {
    ++by_source[d.source];
    multi_turn += d.turns.size() > 2;
  }
  // docs/dialmae.md quotes these.
  EXPECT_EQ(by_source["lima"], 1029);
  EXPECT_EQ(multi_turn, 29);  // LIMA's conversations with history
  EXPECT_EQ(by_source["hc3"], 1187 + 1248);
  EXPECT_EQ(by_source["alpaca"], 4997);  // 3 of the 5,000 repeat another's instruction + input
}
