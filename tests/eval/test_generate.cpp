// Sampling masks keep exactly the right tokens; generation equals a no-cache reference loop.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/eval/generate.h"

using namespace lmlab;
using namespace lmlab::eval;

namespace {

std::vector<bool> kept(const torch::Tensor& masked) {
  std::vector<bool> out;
  for (int64_t i = 0; i < masked.size(-1); ++i) out.push_back(std::isfinite(masked[0][i].item<double>()));
  return out;
}

// Greedy (or windowed) decoding by re-running the whole forward each step: no cache.
torch::Tensor reference_greedy(model::TransformerImpl& m, torch::Tensor tokens, int64_t n) {
  torch::NoGradGuard no_grad;
  int64_t window = m.config().max_seq_len;
  using torch::indexing::Slice;
  for (int64_t i = 0; i < n; ++i) {
    auto context = tokens.size(1) > window ? tokens.index({Slice(), Slice(-window, torch::indexing::None)}) : tokens;
    auto next = m.forward(context).index({Slice(), -1}).argmax(-1);
    tokens = torch::cat({tokens, next.unsqueeze(1)}, 1);
  }
  return tokens;
}

model::Transformer tiny(const std::string& arch, int64_t max_seq_len) {
  ModelConfig c;
  c.arch = arch;
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = 23;
  c.max_seq_len = max_seq_len;
  torch::manual_seed(7);
  model::Transformer m(c);
  m->eval();
  return m;
}

}  // namespace

TEST(Sampling, TopKKeepsExactlyTheKLargest) {
  auto logits = torch::tensor({{1.0, 5.0, 3.0, 2.0, 4.0}});
  EXPECT_EQ(kept(mask_top_k(logits, 2)), (std::vector<bool>{false, true, false, false, true}));
  EXPECT_EQ(kept(mask_top_k(logits, 0)), std::vector<bool>(5, true));
}

TEST(Sampling, TopPKeepsTheSmallestNucleus) {
  // probabilities 0.15, 0.5, 0.05, 0.3 (shuffled so sorting matters)
  auto logits = torch::log(torch::tensor({{0.15, 0.5, 0.05, 0.3}}, torch::kFloat64));
  EXPECT_EQ(kept(mask_top_p(logits, 0.4)), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(kept(mask_top_p(logits, 0.75)), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(kept(mask_top_p(logits, 0.85)), (std::vector<bool>{true, true, false, true}));
  EXPECT_EQ(kept(mask_top_p(logits, 0.01)), (std::vector<bool>{false, true, false, false}));  // never empty
}

TEST(Sampling, GreedyIsArgmaxAndTopKOneIsGreedyAtAnyTemperature) {
  torch::manual_seed(0);
  auto logits = torch::randn({8, 30});
  auto gen = make_generator(1);
  EXPECT_TRUE(torch::equal(sample_next(logits, {0.0, 0, 1.0}, gen), logits.argmax(-1)));
  EXPECT_TRUE(torch::equal(sample_next(logits, {2.0, 1, 1.0}, gen), logits.argmax(-1)));
}

TEST(Sampling, SameSeedSameSamplesAndOnlyAllowedTokens) {
  torch::manual_seed(0);
  auto logits = torch::randn({64, 30});
  SamplingOptions opts{1.0, 5, 1.0};
  auto g1 = make_generator(42), g2 = make_generator(42), g3 = make_generator(43);
  auto a = sample_next(logits, opts, g1), b = sample_next(logits, opts, g2), c = sample_next(logits, opts, g3);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
  auto allowed = std::get<1>(logits.topk(5, -1));
  EXPECT_TRUE((allowed == a.unsqueeze(1)).any(-1).all().item<bool>());
}

TEST(Sampling, DrawsFollowTheSoftmaxOfTheTemperatureScaledLogits) {
  auto logits = torch::tensor({0.0, std::log(3.0)}).repeat({20000, 1});  // p(1) = 3/4 at T = 1
  auto gen = make_generator(5);
  double at1 = sample_next(logits, {1.0, 0, 1.0}, gen).to(torch::kFloat64).mean().item<double>();
  double at2 = sample_next(logits, {2.0, 0, 1.0}, gen).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(at1, 0.75, 0.015);
  EXPECT_NEAR(at2, std::sqrt(3.0) / (1 + std::sqrt(3.0)), 0.015);  // softmax(logits / 2)
}

TEST(Generate, GreedyWithCacheEqualsNoCacheLoop) {
  for (const std::string arch : {"llama", "gpt2"}) {
    auto m = tiny(arch, 64);
    auto prompt = torch::randint(23, {2, 4}, torch::kInt64);
    auto gen = make_generator(0);
    GenerateOptions opts;
    opts.max_new_tokens = 10;
    opts.sampling.temperature = 0;
    auto got = generate(*m, prompt, opts, gen);
    EXPECT_TRUE(torch::equal(got, reference_greedy(*m, prompt, 10))) << arch;
  }
}

TEST(Generate, SlidesTheWindowPastMaxSeqLen) {
  for (const std::string arch : {"llama", "gpt2"}) {
    auto m = tiny(arch, 6);
    auto prompt = torch::randint(23, {1, 8}, torch::kInt64);  // longer than the window already
    auto gen = make_generator(0);
    GenerateOptions opts;
    opts.max_new_tokens = 7;
    opts.sampling.temperature = 0;
    EXPECT_TRUE(torch::equal(generate(*m, prompt, opts, gen), reference_greedy(*m, prompt, 7))) << arch;
  }
}

TEST(Generate, StopsWhenEveryRowProducedTheStopToken) {
  auto m = tiny("llama", 64);
  auto prompt = torch::randint(23, {1, 3}, torch::kInt64);
  GenerateOptions opts;
  opts.max_new_tokens = 20;
  opts.sampling.temperature = 0;
  auto gen = make_generator(0);
  auto free_run = generate(*m, prompt, opts, gen);
  opts.stop_token = free_run[0][5].item<int64_t>();  // the 3rd generated token
  auto stopped = generate(*m, prompt, opts, gen);
  int64_t first = 3;
  while (free_run[0][first].item<int64_t>() != opts.stop_token) ++first;
  EXPECT_EQ(stopped.size(1), first + 1);
  int64_t calls = 0;
  generate(*m, prompt, opts, gen, [&](int64_t, const torch::Tensor&) { ++calls; });
  EXPECT_EQ(calls, first + 1 - 3);
}

TEST(Generate, RunsWithoutDropoutAndRestoresTrainingMode) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = 23;
  c.dropout = 0.5;
  torch::manual_seed(3);
  model::Transformer m(c);
  m->train();
  auto prompt = torch::randint(23, {2, 4}, torch::kInt64);
  GenerateOptions opts;
  opts.max_new_tokens = 6;
  opts.sampling.temperature = 0;
  auto gen = make_generator(0);
  auto got = generate(*m, prompt, opts, gen);
  EXPECT_TRUE(m->is_training());
  m->eval();
  EXPECT_TRUE(torch::equal(got, reference_greedy(*m, prompt, 6)));
}
