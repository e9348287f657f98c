// The batched scorer on a tiny causal model: padded batches give the scores of one-at-a-time
// forward passes, which equal log_softmax read off by hand; truncation keeps the last L+1 tokens.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/eval/causal_lm_scorer.h"

using namespace lmlab::eval;

namespace {

constexpr int64_t kVocab = 11, kDim = 6;

// logits[t] = W * mean(emb[x_0..x_t]): causal, and every position depends on all earlier ones.
struct TinyLm {
  torch::Tensor emb = torch::randn({kVocab, kDim}, torch::kDouble), w = torch::randn({kDim, kVocab}, torch::kDouble);
  torch::Tensor operator()(const torch::Tensor& idx) const {  // (B, T) -> (B, T, V)
    torch::Tensor e = emb.index_select(0, idx.flatten()).view({idx.size(0), idx.size(1), kDim});
    torch::Tensor counts = torch::arange(1, idx.size(1) + 1, torch::kDouble).view({1, -1, 1});
    return e.cumsum(1).div(counts).matmul(w);
  }
};

// log P(continuation | context) by hand: one unpadded pass over the whole request.
std::vector<double> by_hand(const TinyLm& lm, const TokenRequest& r) {
  std::vector<int64_t> whole(r.context.begin(), r.context.end());
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  torch::Tensor logp = torch::log_softmax(lm(torch::tensor(whole).view({1, -1})), -1)[0];  // (T, V)
  std::vector<double> out;
  for (size_t j = 0; j < r.continuation.size(); ++j)
    out.push_back(logp[static_cast<int64_t>(r.context.size() + j) - 1][r.continuation[j]].item<double>());
  return out;
}

}  // namespace

TEST(CausalLmScorer, BatchedEqualsOneAtATimeAndByHand) {
  torch::manual_seed(0);
  TinyLm lm;
  std::vector<TokenRequest> reqs = {{{1, 2, 3}, {4}}, {{5}, {6, 7, 8, 9}}, {{1, 1, 2, 3, 5, 8}, {3, 1}}, {{10}, {0}}};
  CausalLmScorer batched(std::ref(lm), 64, torch::kCPU, 3);
  CausalLmScorer single(std::ref(lm), 64, torch::kCPU, 1);
  std::vector<TokenScores> a = batched.score(reqs), b = single.score(reqs);
  ASSERT_EQ(a.size(), reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    std::vector<double> expected = by_hand(lm, reqs[i]);
    ASSERT_EQ(a[i].logprobs.size(), expected.size());
    for (size_t j = 0; j < expected.size(); ++j) {
      EXPECT_NEAR(a[i].logprobs[j], expected[j], 1e-5) << i;  // the scorer reads float32 logits
      EXPECT_NEAR(a[i].logprobs[j], b[i].logprobs[j], 1e-6) << i;
    }
    EXPECT_EQ(a[i].greedy, b[i].greedy);
  }
}

TEST(CausalLmScorer, GreedyMeansEveryTokenIsTheArgmax) {
  torch::manual_seed(1);
  TinyLm lm;
  CausalLmScorer scorer(std::ref(lm), 64, torch::kCPU, 4);
  // Build a continuation by greedy decoding, then spoil its last token.
  std::vector<int64_t> seq = {3, 7};
  for (int k = 0; k < 3; ++k) seq.push_back(lm(torch::tensor(seq).view({1, -1}))[0][-1].argmax().item<int64_t>());
  TokenRequest greedy{{3, 7}, {static_cast<uint32_t>(seq[2]), static_cast<uint32_t>(seq[3]), static_cast<uint32_t>(seq[4])}};
  TokenRequest spoiled = greedy;
  spoiled.continuation[2] = (spoiled.continuation[2] + 1) % kVocab;
  std::vector<TokenScores> s = scorer.score({greedy, spoiled});
  EXPECT_TRUE(s[0].greedy);
  EXPECT_FALSE(s[1].greedy);
}

TEST(CausalLmScorer, TruncatesToTheLastMaxLengthPlusOneTokens) {
  torch::manual_seed(2);
  TinyLm lm;
  CausalLmScorer scorer(std::ref(lm), 4, torch::kCPU, 2);
  // Context 1..7, continuation [8, 9]: the model reads [5, 6, 7, 8] and scores 8 and 9.
  std::vector<TokenScores> s = scorer.score({{{1, 2, 3, 4, 5, 6, 7}, {8, 9}}});
  std::vector<double> expected = by_hand(lm, {{5, 6, 7}, {8, 9}});
  ASSERT_EQ(s[0].logprobs.size(), 2u);
  EXPECT_NEAR(s[0].logprobs[0], expected[0], 1e-5);
  EXPECT_NEAR(s[0].logprobs[1], expected[1], 1e-5);
}

// A continuation longer than the context is scored in pieces of at most L tokens, each read in
// one window of the L + 1 tokens that end with it (as lm-eval's rolling windows): a token is
// predicted from everything in its window before it, batched or not.
TEST(CausalLmScorer, LongContinuationsEqualPerTokenScoresWithLimitedContext) {
  torch::manual_seed(3);
  TinyLm lm;
  const int64_t L = 4;
  TokenRequest shortctx{{1}, {2, 3, 4, 5, 6, 7, 8, 9, 10, 0}}, longctx{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 0, 1}};
  for (int64_t batch : {1, 3}) {
    CausalLmScorer scorer(std::ref(lm), L, torch::kCPU, batch);
    scorer.set_label("task t");
    testing::internal::CaptureStderr();
    std::vector<TokenScores> s = scorer.score({shortctx, {{3}, {4}}, longctx});
    const std::string warning = testing::internal::GetCapturedStderr();  // once per call, with the count
    EXPECT_NE(warning.find("lmlab: warning: task t: 2 of 3 continuations are longer than the context window (4 tokens)"),
              std::string::npos) << warning;
    EXPECT_EQ(warning.find("warning", warning.find("warning") + 1), std::string::npos) << warning;
    for (const TokenRequest* r : {&shortctx, &longctx}) {
      const TokenScores& got = s[r == &shortctx ? 0 : 2];
      std::vector<uint32_t> whole(r->context);
      whole.insert(whole.end(), r->continuation.begin(), r->continuation.end());
      ASSERT_EQ(got.logprobs.size(), r->continuation.size());
      for (size_t j = 0; j < r->continuation.size(); ++j) {
        const size_t piece_end = std::min(r->continuation.size(), (j / L + 1) * L) + r->context.size();
        const size_t at = r->context.size() + j, from = piece_end > static_cast<size_t>(L) + 1 ? piece_end - L - 1 : 0;
        TokenRequest one{{whole.begin() + static_cast<std::ptrdiff_t>(from), whole.begin() + static_cast<std::ptrdiff_t>(at)},
                         {whole[at]}};
        EXPECT_NEAR(got.logprobs[j], by_hand(lm, one)[0], 1e-5) << "batch " << batch << " token " << j;
      }
    }
  }
}
