// Training: golden merges on tiny hand-checked corpora for BPE and Scaffold-BPE (including a
// re-admission and an a == b merge; the expected steps are derived by hand in the comments),
// and properties on real text (thread-count independence, E-order ids, errors).
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"

namespace tk = lmlab::tokenizer;

namespace {

tk::WordCounts words(const std::vector<std::pair<std::string, uint64_t>>& list) {
  static std::vector<std::string> storage;  // the views must outlive the call
  tk::WordCounts w;
  for (const auto& [word, count] : list) {
    storage.push_back(word);
    w.total_bytes += word.size() * count;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    w.words.push_back(storage[storage.size() - list.size() + i]);
    w.counts.push_back(list[i].second);
  }
  return w;
}

tk::TrainOptions train_options(const std::string& algo, uint32_t vocab) {
  tk::TrainOptions o;
  o.algo = algo;
  o.vocab_size = vocab;
  o.specials.clear();
  o.record_events = true;
  return o;
}

using Events = std::vector<std::string>;

// hug x10, pug x5, pun x12, bun x4, hugs x5. Pair counts: ug 20, pu 17, un 16, hu 15, gs 5, bu 4.
const std::vector<std::pair<std::string, uint64_t>> kHug = {{"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}};

}  // namespace

TEST(Train, BpeGoldenMerges) {
  // u+g (20); u+n (16); h+ug (15); p+un (12); then p+ug (5) and hug+s (5) tie: the smaller left
  // id wins (p = 112 < hug = 258); then b+un (4).
  auto r = tk::train_words(words(kHug), train_options("bpe", 300));
  EXPECT_EQ(r.events, (Events{"merge u+g", "merge u+n", "merge h+ug", "merge p+un", "merge p+ug", "merge hug+s", "merge b+un"}));
  EXPECT_TRUE(r.exhausted);
  // Plain BPE: ids in merge order after the 256 bytes.
  ASSERT_EQ(r.model.tokens.size(), 263u);
  EXPECT_EQ(r.model.tokens[256], "ug");
  EXPECT_EQ(r.model.tokens[262], "bun");
  EXPECT_EQ(r.model.scaffold_size(), 0u);
}

TEST(Train, BpeStopsAtVocabSize) {
  auto r = tk::train_words(words(kHug), train_options("bpe", 259));
  EXPECT_EQ(r.events, (Events{"merge u+g", "merge u+n", "merge h+ug"}));
  EXPECT_FALSE(r.exhausted);
  EXPECT_EQ(r.model.vocab_size(), 259u);
}

TEST(Train, ScaffoldGoldenWithReadmission) {
  // f = standalone counts. After h+ug (15): f(ug) = 20 - 15 = 5 < f(head = p+un) = 12 -> scaffold.
  // After p+un (12): f(un) = 16 - 12 = 4 < head 5 -> scaffold. Head is then the token ug (5),
  // which beats the pairs p+ug / hug+s (5) -> re-admitted. p+ug (5) leaves f(ug) = 0 -> scaffold
  // again. hug+s: f(hug) = 10 >= head 4. Token un (4) beats pair b+un (4) -> re-admitted; b+un.
  auto r = tk::train_words(words(kHug), train_options("scaffold", 262));
  EXPECT_EQ(r.events, (Events{"merge u+g", "merge u+n", "merge h+ug", "scaffold ug", "merge p+un", "scaffold un",
                              "readmit ug", "merge p+ug", "scaffold ug", "merge hug+s", "readmit un", "merge b+un"}));
  const tk::Model& m = r.model;
  EXPECT_EQ(m.vocab_size(), 262u);  // |V| = 262 normal tokens
  ASSERT_EQ(m.scaffold_size(), 1u);
  EXPECT_EQ(m.tokens[262], "ug");   // S after V
  EXPECT_TRUE(m.is_scaffold(262));
  EXPECT_EQ(m.tokens[256], "un");   // V keeps E-order: u+g made "ug" first, but it is in S
  EXPECT_EQ(m.merges.size(), 7u);
}

TEST(Train, ScaffoldSelfMergeSubtractsTwice) {
  // xyxyxyxy x3, xyz x2. x+y (14) -> f(xy) = 14. xy+xy (9 pairs, 6 merges): f(xy) = 14 - 2*6 = 2
  // < head 3 (xyxy+xyxy) -> scaffold (subtracting once would leave 8 and keep it). xyxy+xyxy:
  // f(xyxy) = 0 -> scaffold. The token xy (2) beats the pair xy+z (2): re-admitted. Then xy+z.
  auto r = tk::train_words(words({{"xyxyxyxy", 3}, {"xyz", 2}}), train_options("scaffold", 300));
  EXPECT_EQ(r.events, (Events{"merge x+y", "merge xy+xy", "scaffold xy", "merge xyxy+xyxy", "scaffold xyxy",
                              "readmit xy", "merge xy+z"}));
  ASSERT_EQ(r.model.scaffold_size(), 1u);
  EXPECT_EQ(r.model.tokens.back(), "xyxy");
}

TEST(Train, ResultIndependentOfThreadsAndRoundTripsThroughJson) {
  std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt"));
  for (const char* algo : {"bpe", "scaffold"}) {
    tk::TrainOptions o;
    o.algo = algo;
    o.vocab_size = 1500;
    o.threads = 1;
    std::string one = tk::to_tokenizer_json(tk::train({text}, o).model);
    o.threads = 3;
    std::string three = tk::to_tokenizer_json(tk::train({text}, o).model);
    EXPECT_EQ(one, three) << algo;
    EXPECT_EQ(tk::to_tokenizer_json(tk::parse_tokenizer_json(one, "t.json")), one) << algo;
  }
}

TEST(Train, RejectsBadInput) {
  EXPECT_THROW(tk::train_words(words(kHug), train_options("bpe", 255)), lmlab::UserError);
  EXPECT_THROW(tk::train_words(words(kHug), train_options("wordpiece", 300)), lmlab::UserError);
  tk::TrainOptions o = train_options("bpe", 300);
  o.specials = {"<s>"};
  EXPECT_THROW(tk::train({"<s><s>"}, o), lmlab::UserError);  // nothing outside the specials
}
