// The transformer's contract: shapes, causality, the KV cache, parameter and FLOP counts,
// config validation and the FFN registry, for both architectures.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;
using namespace lmlab::model;

namespace {

ModelConfig tiny_config(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.vocab_size = 50;
  c.max_seq_len = 64;
  return c;
}

std::vector<ModelConfig> variants() {
  auto llama = tiny_config("llama");
  auto gqa = tiny_config("llama");
  gqa.n_kv_head = 2;
  gqa.tie_embeddings = false;
  auto gpt2 = tiny_config("gpt2");
  gpt2.bias = true;
  return {llama, gqa, gpt2};
}

}  // namespace

TEST(Transformer, LogitsHaveShapeBTV) {
  for (const auto& cfg : variants()) {
    torch::manual_seed(0);
    Transformer model(cfg);
    auto logits = model->forward(torch::randint(cfg.vocab_size, {3, 7}, torch::kInt64));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 7, cfg.vocab_size})) << cfg.arch;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
}

TEST(Transformer, ChangingAFutureTokenLeavesEarlierLogitsUnchanged) {
  for (const auto& cfg : variants()) {
    torch::manual_seed(1);
    Transformer model(cfg);
    auto idx = torch::randint(cfg.vocab_size, {2, 10}, torch::kInt64);
    auto changed = idx.clone();
    changed.index_put_({torch::indexing::Slice(), 6}, (idx.index({torch::indexing::Slice(), 6}) + 1) % cfg.vocab_size);
    auto a = model->forward(idx), b = model->forward(changed);
    using torch::indexing::Slice;
    EXPECT_TRUE(torch::allclose(a.index({Slice(), Slice(0, 6)}), b.index({Slice(), Slice(0, 6)}), 0, 1e-6)) << cfg.arch;
    EXPECT_FALSE(torch::allclose(a.index({Slice(), Slice(6)}), b.index({Slice(), Slice(6)}), 0, 1e-3)) << cfg.arch;
  }
}

TEST(Transformer, KvCacheEqualsTheFullForwardOverSeveralSteps) {
  for (const auto& cfg : variants()) {
    torch::manual_seed(2);
    Transformer model(cfg);
    model->eval();
    torch::NoGradGuard no_grad;
    auto idx = torch::randint(cfg.vocab_size, {2, 12}, torch::kInt64);
    auto full = model->forward(idx);
    KVCache cache;
    int64_t pos = 0;
    for (int64_t step : {5, 1, 1, 3, 2}) {  // a prompt, then single tokens and chunks
      using torch::indexing::Slice;
      auto logits = model->forward_cached(idx.index({Slice(), Slice(pos, pos + step)}), cache);
      pos += step;
      EXPECT_EQ(cache.length(), pos);
      auto expected = full.index({Slice(), Slice(pos - step, pos)});
      EXPECT_LT((logits - expected).abs().max().item<double>(), 1e-5) << cfg.arch << " at " << pos;
    }
  }
}

// generate()'s step: the last block runs its last query alone and the head one row, yet the
// logits equal the last row of the full forward and the cache equals forward_cached's; also for
// a UniAttn block reusing the softmax in the last layer, cross-layer KV sharing and two MoEs.
TEST(Transformer, NextTokenLogitsEqualTheLastRowOfTheFullForward) {
  auto configs = variants();
  auto uniattn = tiny_config("llama");
  uniattn.n_layer = 3;
  uniattn.attention.unify_group = 2;
  uniattn.attention.unify_begin = 1;
  uniattn.attention.compensation = true;
  auto cla = uniattn;
  cla.attention.share = "kv";
  cla.attention.compensation = false;
  auto moe = tiny_config("llama");
  moe.ffn.type = "moe";
  moe.ffn.n_experts = 4;
  auto hashed = moe;  // routes by token id: the last block must see the last token's id
  hashed.ffn.type = "hash_moe";
  for (const auto& c : {uniattn, cla, moe, hashed}) configs.push_back(c);
  for (const auto& cfg : configs) {
    torch::manual_seed(4);
    Transformer model(cfg);
    model->eval();
    torch::NoGradGuard no_grad;
    auto idx = torch::randint(cfg.vocab_size, {2, 9}, torch::kInt64);
    auto full = model->forward(idx);  // (B, T, V)
    const std::string what = cfg.arch + " " + cfg.attention.share + " " + cfg.ffn.type;
    EXPECT_LT((model->next_token_logits(idx, nullptr) - full.select(1, 8)).abs().max().item<double>(), 1e-5) << what;
    KVCache fast, reference;
    model->forward_cached(idx.narrow(1, 0, 5), reference);
    auto prefill = model->next_token_logits(idx.narrow(1, 0, 5), &fast);
    EXPECT_LT((prefill - full.select(1, 4)).abs().max().item<double>(), 1e-5) << what;
    for (int64_t t = 5; t < 9; ++t) {
      auto step = model->next_token_logits(idx.narrow(1, t, 1), &fast);
      model->forward_cached(idx.narrow(1, t, 1), reference);
      EXPECT_LT((step - full.select(1, t)).abs().max().item<double>(), 1e-5) << what << " at " << t;
    }
    for (size_t l = 0; l < fast.k.size(); ++l) {
      EXPECT_EQ(fast.k[l].defined(), reference.k[l].defined()) << what;
      if (fast.k[l].defined()) {
        EXPECT_TRUE(torch::allclose(fast.k[l], reference.k[l], 1e-6, 1e-6)) << what << " layer " << l;
      }
      EXPECT_EQ(fast.v[l].defined(), reference.v[l].defined()) << what;  // CLA's reusing layers cache neither
      if (fast.v[l].defined()) {
        EXPECT_TRUE(torch::allclose(fast.v[l], reference.v[l], 1e-6, 1e-6)) << what << " layer " << l;
      }
    }
  }
}

// RoPE's cos/sin come from one table per model, max_seq_len rows at first, grown when a
// sequence goes further: decoding step by step far past it (the table grows twice) equals one
// forward over the whole sequence by a twin model whose table is built at that length at once.
TEST(Transformer, RopeTableGrowsPastMaxSeqLen) {
  auto cfg = tiny_config("llama");
  cfg.max_seq_len = 8;
  torch::manual_seed(5);
  Transformer stepwise(cfg);
  torch::manual_seed(5);
  Transformer whole(cfg);
  stepwise->eval(), whole->eval();
  torch::NoGradGuard no_grad;
  auto idx = torch::randint(cfg.vocab_size, {1, 21}, torch::kInt64);
  auto full = whole->forward(idx);
  KVCache cache;
  for (int64_t t = 0; t < 21; ++t) {
    auto step = stepwise->forward_cached(idx.narrow(1, t, 1), cache);
    EXPECT_LT((step.select(1, 0) - full.select(1, t)).abs().max().item<double>(), 1e-5) << "at " << t;
  }
  // and the positions are really rotated: a shifted sequence gives other logits
  EXPECT_FALSE(torch::allclose(whole->forward(idx.narrow(1, 13, 8)).select(1, 7), full.select(1, 20), 1e-3, 1e-3));
}

// The dense FFN's near_zero_share reaches `lmlab eval` through an eval-mode forward(); the
// generator's steps compute no statistics.
TEST(Transformer, EvalForwardReportsNearZeroShareAndDecodingStepsDoNot) {
  Transformer model(tiny_config("llama"));
  model->eval();
  torch::NoGradGuard no_grad;
  auto idx = torch::randint(50, {1, 6}, torch::kInt64);
  model->forward(idx);
  auto stats = model->ffn_stats();
  ASSERT_EQ(stats.size(), 2u) << stats.dump();
  double share = stats["layer1"]["near_zero_share"].get<double>();
  EXPECT_TRUE(share >= 0 && share <= 1) << share;
  model->next_token_logits(idx, nullptr);
  EXPECT_TRUE(model->ffn_stats().empty()) << model->ffn_stats().dump();
}

TEST(Transformer, Gpt2RejectsSequencesLongerThanItsPositionTable) {
  auto cfg = tiny_config("gpt2");
  cfg.max_seq_len = 8;
  Transformer model(cfg);
  EXPECT_THROW(model->forward(torch::zeros({1, 9}, torch::kInt64)), UserError);
}

// Parameter names are part of the interface (checkpoints, the HF export).
TEST(Transformer, ParameterNamesAreStable) {
  auto cfg = tiny_config("llama");
  cfg.n_layer = 1;
  cfg.tie_embeddings = false;
  std::vector<std::string> names;
  for (const auto& p : Transformer(cfg)->named_parameters()) names.push_back(p.key());
  std::vector<std::string> expected = {
      "tok_emb.weight",           "blocks.0.attn_norm.weight", "blocks.0.attn.wq.weight", "blocks.0.attn.wk.weight",
      "blocks.0.attn.wv.weight",  "blocks.0.attn.wo.weight",   "blocks.0.ffn_norm.weight", "blocks.0.ffn.w1.weight",
      "blocks.0.ffn.w2.weight",   "blocks.0.ffn.w3.weight",    "norm.weight",              "lm_head.weight"};
  EXPECT_EQ(names, expected);
}

// Hand formula: V*C (tied head) + L*(2C norms + 2C^2 (wq, wo) + 2*C*Ckv (wk, wv) + 3*C*H) + C.
TEST(Transformer, LlamaParameterCountMatchesHandFormula) {
  auto cfg = tiny_config("llama");
  cfg.n_kv_head = 2;
  int64_t V = 50, C = 32, L = 2, H = 128 /* 8/3*32 = 85.3 -> 128 */, Ckv = 16;
  int64_t expected = V * C + L * (2 * C + 2 * C * C + 2 * C * Ckv + 3 * C * H) + C;
  Transformer model(cfg);
  EXPECT_EQ(model->total_params(), expected);
  EXPECT_EQ(model->active_params(), expected);
  EXPECT_EQ(model->non_embedding_params(), expected - V * C);
  cfg.tie_embeddings = false;
  Transformer untied(cfg);
  EXPECT_EQ(untied->total_params(), expected + V * C);
  EXPECT_EQ(untied->non_embedding_params(), expected);  // the untied head stays in N
}

// GPT-2 124M with nanoGPT's padded vocabulary: 124,475,904 parameters (nanoGPT, llm.c), and
// 6N + 12LTd = 854,654,976 FLOPs per token at T = 1024 with N the 123,568,128 matmul weights.
TEST(Transformer, Gpt2SmallHasTheKnownParameterCountAndFlops) {
  ModelConfig cfg;
  cfg.arch = "gpt2";
  cfg.n_layer = 12;
  cfg.n_head = 12;
  cfg.d_model = 768;
  cfg.vocab_size = 50304;
  cfg.max_seq_len = 1024;
  cfg.bias = true;
  Transformer model(cfg);
  EXPECT_EQ(model->total_params(), 124475904);
  EXPECT_EQ(model->non_embedding_params(), 124475904 - 50304 * 768 - 1024 * 768);
  int64_t C = 768, L = 12, T = 1024;
  double n_matmul = static_cast<double>(L * (4 * C * C + 8 * C * C) + 50304 * C);
  EXPECT_DOUBLE_EQ(model->train_flops_per_token(T), 6 * n_matmul + 12.0 * L * T * C);
  EXPECT_DOUBLE_EQ(model->train_flops_per_token(T), 854654976.0);
}

TEST(Transformer, DenseModelHasNoAuxLossAndNoStats) {
  Transformer model(tiny_config("llama"));
  model->forward(torch::zeros({1, 4}, torch::kInt64));
  EXPECT_FALSE(model->aux_loss().defined());
  EXPECT_TRUE(model->ffn_stats().empty());
}

TEST(Transformer, BadShapesAreUserErrors) {
  auto cfg = tiny_config("llama");
  cfg.n_head = 5;
  EXPECT_THROW(Transformer{cfg}, UserError);
  cfg = tiny_config("llama");
  cfg.vocab_size = 0;
  EXPECT_THROW(Transformer{cfg}, UserError);
  cfg = tiny_config("llama");
  cfg.n_kv_head = 3;
  EXPECT_THROW(Transformer{cfg}, UserError);
}

TEST(FfnRegistry, UnknownTypeIsAUserErrorWithDidYouMean) {
  auto cfg = tiny_config("llama");
  cfg.ffn.type = "dens";
  try {
    Transformer model(cfg);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'dense'"), std::string::npos) << e.what();
  }
}
