// Rolling-window perplexity: equals a single direct pass when the text fits one window, and in
// general a brute-force per-token sum with the contexts lm-eval's windows give each token.
#include <gtest/gtest.h>

#include <cmath>

#include "fakes.h"
#include "lmlab/eval/perplexity.h"

using namespace lmlab::eval;
using lmlab::eval::test::fake_logprobs;
using lmlab::eval::test::FakeTokenScorer;
using lmlab::eval::test::kVocab;

namespace {

constexpr uint32_t kEot = 6;

std::vector<uint32_t> sequence(size_t n) {
  std::vector<uint32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<uint32_t>((i * 5 + i / 3) % (kVocab - 1));
  return t;
}

// Token j's context, derived from the window layout independently of rolling_windows():
// the first L tokens follow [EOT] + everything before; later windows end at
// e = min(N, L + k*L) and read t[e-L-1 : e-1], so token j sees t[e-L-1 : j].
double brute_force(const std::vector<uint32_t>& t, int64_t L) {
  const int64_t N = static_cast<int64_t>(t.size());
  double total = 0;
  for (int64_t j = 0; j < N; ++j) {
    std::vector<uint32_t> history;
    if (j < L) {
      history.push_back(kEot);
      history.insert(history.end(), t.begin(), t.begin() + j);
    } else {
      int64_t e = std::min(N, L + ((j - L) / L + 1) * L);
      history.assign(t.begin() + (e - L - 1), t.begin() + j);
    }
    total += fake_logprobs(history)[t[static_cast<size_t>(j)]];
  }
  return total;
}

}  // namespace

TEST(Perplexity, OneWindowEqualsDirectComputation) {
  std::vector<uint32_t> t = sequence(12);
  FakeTokenScorer model(16);
  double direct = 0;  // one pass over [EOT] + t, every token given all earlier ones
  std::vector<uint32_t> history = {kEot};
  for (uint32_t tok : t) {
    direct += fake_logprobs(history)[tok];
    history.push_back(tok);
  }
  EXPECT_EQ(rolling_windows(t, kEot, 16).size(), 1u);
  EXPECT_NEAR(rolling_loglikelihood(t, kEot, model), direct, 1e-9);
  EXPECT_NEAR(rolling_loglikelihood(t, kEot, model), brute_force(t, 16), 1e-9);
}

TEST(Perplexity, RollingWindowsEqualBruteForce) {
  for (int64_t L : {1, 2, 3, 5, 8}) {
    for (size_t n : {1u, 4u, 5u, 8u, 9u, 16u, 23u}) {
      std::vector<uint32_t> t = sequence(n);
      FakeTokenScorer model(L);
      EXPECT_NEAR(rolling_loglikelihood(t, kEot, model), brute_force(t, L), 1e-9) << "L=" << L << " n=" << n;
    }
  }
}

TEST(Perplexity, WindowsCoverEveryTokenOnceWithinTheModelLength) {
  std::vector<uint32_t> t = sequence(23);
  std::vector<TokenRequest> w = rolling_windows(t, kEot, 5);
  ASSERT_EQ(w.size(), 5u);  // 5 + 5 + 5 + 5 + 3
  std::vector<uint32_t> scored;
  for (const TokenRequest& r : w) {
    EXPECT_LE(r.continuation.size(), 5u);
    EXPECT_LE(r.context.size() + r.continuation.size(), 5u + 1u);  // the model reads at most L
    scored.insert(scored.end(), r.continuation.begin(), r.continuation.end());
  }
  EXPECT_EQ(scored, t);
  EXPECT_EQ(w[0].context, std::vector<uint32_t>{kEot});
  EXPECT_EQ(w[4].context, std::vector<uint32_t>(t.begin() + 17, t.begin() + 20));  // t[e-L-1 : e-p], e=23, p=3
}

TEST(Perplexity, WordAndByteLevelFromTheSameLogLikelihood) {
  const std::string text = " hello  world\nagain ";
  EXPECT_EQ(count_words(text), 5);  // re.split(r"\s+", text) -> ['', 'hello', 'world', 'again', '']
  EXPECT_EQ(count_words("a b"), 2);
  FakeTokenScorer model(4);
  auto encode = lmlab::eval::test::byte_encode;
  // Bytes of the text are ids up to 'w' = 119: map them into the fake vocabulary.
  auto small = [&](std::string_view s) {
    std::vector<uint32_t> ids = encode(s);
    for (uint32_t& id : ids) id %= (kVocab - 1);
    return ids;
  };
  TaskResult r = text_perplexity(text, small, kEot, model);
  const double ll = rolling_loglikelihood(small(text), kEot, model);
  EXPECT_NEAR(r.metrics.at("perplexity"), std::exp(-ll / 20.0), 1e-9);
  EXPECT_NEAR(r.metrics.at("word_perplexity"), std::exp(-ll / 5.0), 1e-9);
  EXPECT_NEAR(r.metrics.at("byte_perplexity"), std::exp(-ll / 20.0), 1e-9);
  EXPECT_NEAR(r.metrics.at("bits_per_byte"), -ll / 20.0 / std::log(2.0), 1e-9);
  EXPECT_EQ(r.metrics.at("words"), 5);
}
