// acc / acc_norm / LAMBADA metrics on hand-made items with known answers, and the string ->
// token requests of TokenizedScorer (lm-eval's _encode_pair).
#include <gtest/gtest.h>

#include <cmath>

#include "fakes.h"
#include "lmlab/common/error.h"
#include "lmlab/eval/multiple_choice.h"

using namespace lmlab::eval;
using lmlab::eval::test::TableScorer;

namespace {

Choice choice(const std::string& ctx, const std::string& text) {
  return Choice{Request{ctx, " " + text}, utf8_length(text)};
}

}  // namespace

TEST(Scoring, AccAndAccNormDisagree) {
  // Item 1: " a" has the higher total log-likelihood (-2 > -3), but per character the long
  // choice wins (-3/10 > -2/1): acc picks choice 0, acc_norm picks choice 1 (the gold).
  // Item 2: both pick the gold choice 0.
  TaskData task{"t", TaskMetrics::kAccAndNorm, {}, ""};
  task.items.push_back(Item{{choice("q1", "a"), choice("q1", "0123456789")}, 1});
  task.items.push_back(Item{{choice("q2", "yes"), choice("q2", "no")}, 0});
  TableScorer scorer;
  scorer.table[{"q1", " a"}] = {-2.0, false};
  scorer.table[{"q1", " 0123456789"}] = {-3.0, false};
  scorer.table[{"q2", " yes"}] = {-1.0, false};
  scorer.table[{"q2", " no"}] = {-5.0, false};
  std::vector<Loglikelihood> lls;
  TaskResult r = score_task(task, scorer, &lls);
  EXPECT_EQ(r.n, 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc"), 0.5);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc_norm"), 1.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc_stderr"), 0.5);  // sample std sqrt(0.5) / sqrt(2)
  EXPECT_DOUBLE_EQ(r.metrics.at("acc_norm_stderr"), 0.0);
  ASSERT_EQ(lls.size(), 4u);
  EXPECT_DOUBLE_EQ(lls[1].logprob, -3.0);
}

TEST(Scoring, NormalisationCountsCharactersNotBytes) {
  // A = "éé" (2 characters, 4 bytes), LL -3; B = "abc" (3 characters), LL -4 (gold).
  // Per character: A -1.5 < B -1.33 -> B. Per byte A would win (-0.75), and by raw LL A wins.
  TaskData task{"t", TaskMetrics::kAccAndNorm, {Item{{choice("q", "\xc3\xa9\xc3\xa9"), choice("q", "abc")}, 1}}, ""};
  TableScorer scorer;
  scorer.table[{"q", " \xc3\xa9\xc3\xa9"}] = {-3.0, false};
  scorer.table[{"q", " abc"}] = {-4.0, false};
  TaskResult r = score_task(task, scorer);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc"), 0.0);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc_norm"), 1.0);
}

TEST(Scoring, TiesGoToTheFirstChoice) {
  TaskData task{"t", TaskMetrics::kAcc, {Item{{choice("q", "x"), choice("q", "y")}, 1}}, ""};
  TableScorer scorer;
  scorer.table[{"q", " x"}] = {-1.0, false};
  scorer.table[{"q", " y"}] = {-1.0, false};
  TaskResult r = score_task(task, scorer);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc"), 0.0);
  EXPECT_EQ(r.metrics.count("acc_norm"), 0u);  // acc-only tasks report no acc_norm
}

TEST(Scoring, LambadaGreedyAccuracyAndPerplexity) {
  TaskData task{"lambada", TaskMetrics::kLastWord, {}, ""};
  task.items.push_back(Item{{choice("a b", "c")}, 0});
  task.items.push_back(Item{{choice("d e", "f")}, 0});
  TableScorer scorer;
  scorer.table[{"a b", " c"}] = {-1.0, true};
  scorer.table[{"d e", " f"}] = {-3.0, false};
  TaskResult r = score_task(task, scorer);
  EXPECT_DOUBLE_EQ(r.metrics.at("acc"), 0.5);
  EXPECT_NEAR(r.metrics.at("perplexity"), std::exp(2.0), 1e-12);
  // LL = {-1, -3}: sd (ddof 1) = sqrt(2), stderr = 1; ppl stderr by the delta method = e^2 * 1.
  EXPECT_NEAR(r.metrics.at("perplexity_stderr"), std::exp(2.0), 1e-12);
}

TEST(TokenizedScorer, MovesTrailingWhitespaceAndSplitsLikeLmEval) {
  lmlab::eval::test::FakeTokenScorer model(64);
  TokenizedScorer scorer(lmlab::eval::test::byte_encode, 0, model);
  TokenRequest r = scorer.tokenize(Request{"ab  ", "c"});
  EXPECT_EQ(r.context, (std::vector<uint32_t>{'a', 'b'}));
  EXPECT_EQ(r.continuation, (std::vector<uint32_t>{' ', ' ', 'c'}));
  TokenRequest lines = scorer.tokenize(Request{"ab\n\t", "c"});  // str.rstrip(): all whitespace moves
  EXPECT_EQ(lines.context, (std::vector<uint32_t>{'a', 'b'}));
  EXPECT_EQ(lines.continuation, (std::vector<uint32_t>{'\n', '\t', 'c'}));
  TokenRequest empty = scorer.tokenize(Request{"", "xy"});
  EXPECT_EQ(empty.context, (std::vector<uint32_t>{0}));  // the end-of-text token
  EXPECT_EQ(empty.continuation, (std::vector<uint32_t>{'x', 'y'}));
}

TEST(TokenizedScorer, ContinuationIsWholeMinusContextPrefix) {
  // A tokenizer that merges "ab" into one id: encode("a") = [a], encode("ab") = [AB], so the
  // continuation of ("a", "b") is whole[len(ctx):] = [] -> an error, and of ("xa", "bc") it is
  // encode("xabc")[2:] = [c] as in lm-eval (the merged token counts as context).
  auto encode = [](std::string_view s) {
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s.substr(i, 2) == "ab") {
        ids.push_back(1000);
        ++i;
      } else {
        ids.push_back(static_cast<unsigned char>(s[i]));
      }
    }
    return ids;
  };
  lmlab::eval::test::FakeTokenScorer model(64);
  TokenizedScorer scorer(encode, 0, model);
  TokenRequest r = scorer.tokenize(Request{"xa", "bc"});
  EXPECT_EQ(r.context, (std::vector<uint32_t>{'x', 'a'}));
  EXPECT_EQ(r.continuation, (std::vector<uint32_t>{'c'}));
  EXPECT_THROW(scorer.tokenize(Request{"a", "b"}), lmlab::UserError);
}

TEST(TokenizedScorer, SumsTokenLogprobs) {
  lmlab::eval::test::FakeTokenScorer model(64);
  TokenizedScorer scorer(lmlab::eval::test::byte_encode, 0, model);
  std::vector<Loglikelihood> ll = scorer.loglikelihood({Request{"\x01\x02", "\x03\x04"}});
  // By hand: log P(3 | [1,2]) + log P(4 | [1,2,3]).
  double expected = lmlab::eval::test::fake_logprobs({1, 2})[3] + lmlab::eval::test::fake_logprobs({1, 2, 3})[4];
  ASSERT_EQ(ll.size(), 1u);
  EXPECT_NEAR(ll[0].logprob, expected, 1e-12);
}
