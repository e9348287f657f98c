// Sampling masks keep exactly the right tokens; generation equals a no-cache reference loop;
// the streamed text equals decoding the whole continuation.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/eval/generate.h"
#include "lmlab/eval/text_stream.h"
#include "lmlab/tokenizer/trainer.h"

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

model::Transformer tiny_model(const std::string& arch, int64_t max_seq_len) {
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
    auto m = tiny_model(arch, 64);
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
  for (const std::string arch : {"llama", "gpt2"})
    for (int64_t prompt_len : {8, 6, 2}) {  // longer than the window, filling it, then growing into it
      auto m = tiny_model(arch, 6);
      auto prompt = torch::randint(23, {2, prompt_len}, torch::kInt64);
      auto gen = make_generator(0);
      GenerateOptions opts;
      opts.max_new_tokens = 9;
      opts.sampling.temperature = 0;
      auto got = generate(*m, prompt, opts, gen);
      EXPECT_TRUE(torch::equal(got, reference_greedy(*m, prompt, 9))) << arch << " prompt " << prompt_len;
      EXPECT_FALSE(got.is_inference());  // usable anywhere, although the loop ran under InferenceMode
    }
}

// Rows stop at different steps: a stopped row repeats the stop token, the others go on greedily.
TEST(Generate, RowsThatStoppedKeepTheStopTokenWhileOthersContinue) {
  auto m = tiny_model("llama", 64);
  torch::manual_seed(11);
  auto prompt = torch::randint(23, {2, 3}, torch::kInt64);
  GenerateOptions opts;
  opts.max_new_tokens = 12;
  opts.sampling.temperature = 0;
  auto gen = make_generator(0);
  auto free_run = generate(*m, prompt, opts, gen);  // (2, 15)
  opts.stop_token = free_run[0][4].item<int64_t>();  // row 0's 2nd token
  auto got = generate(*m, prompt, opts, gen);
  for (int64_t b = 0; b < 2; ++b) {
    bool stopped = false;
    for (int64_t t = 3; t < got.size(1); ++t) {
      const int64_t want = stopped ? opts.stop_token : free_run[b][t].item<int64_t>();
      EXPECT_EQ(got[b][t].item<int64_t>(), want) << "row " << b << " t " << t;
      stopped = stopped || want == opts.stop_token;
    }
  }
}

TEST(Generate, StopsWhenEveryRowProducedTheStopToken) {
  auto m = tiny_model("llama", 64);
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

namespace {

// Independent of the code under test: a strict UTF-8 validator (RFC 3629 table).
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t j = 1; j < n; ++j) {
      const auto b = static_cast<unsigned char>(s[i + j]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (j == 1 && c == 0xE0) lo = 0xA0;
      if (j == 1 && c == 0xED) hi = 0x9F;
      if (j == 1 && c == 0xF0) lo = 0x90;
      if (j == 1 && c == 0xF4) hi = 0x8F;
      if (b < lo || b > hi) return false;
    }
    i += n;
  }
  return true;
}

const std::string kMixed = "na\xc3\xafve caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82 ok";

}  // namespace

TEST(TextStream, CompletePrefixHoldsOnlyAnUnfinishedCharacter) {
  EXPECT_EQ(utf8_complete_prefix("abc"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xc3"), 1u);              // é lacks its 2nd byte
  EXPECT_EQ(utf8_complete_prefix("a\xc3\xa9"), 3u);
  EXPECT_EQ(utf8_complete_prefix("a\xf0\x9f\x99"), 1u);      // 🙂 lacks its 4th byte
  EXPECT_EQ(utf8_complete_prefix("a\xe2\x80"), 1u);
  EXPECT_EQ(utf8_complete_prefix("a\xff"), 2u);              // never a character: out at once
  EXPECT_EQ(utf8_complete_prefix("a\x80"), 2u);              // a stray continuation byte
  EXPECT_EQ(utf8_complete_prefix("a\xe0\x80"), 3u);          // overlong form: cannot complete
  EXPECT_EQ(utf8_complete_prefix("a\xed\xa0"), 3u);          // a surrogate: cannot complete
  EXPECT_EQ(utf8_complete_prefix("a\xc3" "a"), 3u);          // interrupted: cannot complete
  EXPECT_EQ(utf8_complete_prefix(""), 0u);
}

// Characters split across tokens (every byte its own token, and a small BPE's own splits of
// multi-byte characters): each step prints whole characters only, and everything printed plus
// the rest equals decoding the whole sequence, invalid bytes and a cut-off character included.
TEST(TextStream, StreamedTextEqualsDecodingTheWholeSequence) {
  tokenizer::TrainOptions o;
  o.vocab_size = 280;
  const auto tok = tokenizer::Tokenizer::from_model(tokenizer::train({kMixed + " " + kMixed}, o).model);
  std::vector<uint32_t> bytewise;
  for (char c : kMixed) bytewise.push_back(tok.encode(std::string(1, c)).at(0));
  const std::vector<uint32_t> merged = tok.encode(kMixed);
  ASSERT_LT(merged.size(), bytewise.size());
  const std::string broken = "x\xff\xc3(\xe2\x82";  // invalid bytes, then a character cut off at the end
  std::vector<uint32_t> with_broken = merged;
  for (char c : broken) with_broken.push_back(tok.encode(std::string(1, c)).at(0));
  const std::vector<uint32_t>* cases[] = {&bytewise, &merged, &with_broken};
  for (const auto* ids : cases) {
    TextStream stream(tok);
    std::string printed;
    for (uint32_t id : *ids) {
      std::string piece = stream.push(id);
      if (ids != &with_broken) {
        EXPECT_TRUE(valid_utf8(piece)) << "printed half a character: " << piece;
      }
      printed += piece;
    }
    printed += stream.finish();
    EXPECT_EQ(printed, tok.decode(*ids));
  }
  TextStream stream(tok);
  EXPECT_EQ(stream.push(bytewise[0]), "n");
  EXPECT_EQ(stream.push(bytewise[1]), "a");
  EXPECT_EQ(stream.push(bytewise[2]), "");  // the first byte of ï
  EXPECT_EQ(stream.push(bytewise[3]), "\xc3\xaf");
}
