// What the transformer does for every FFN block, checked with a test-only sparse block: the
// context it passes, the aux-loss sum, the stats collection, the active-parameter count. And
// the init and dropout settings.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/model/deferred_stats.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;
using namespace lmlab::model;

namespace {

// Two linear maps of which a token "uses" only the first; records what it was given.
class HalfActiveFfn : public FfnBlockImpl {
 public:
  HalfActiveFfn(const ModelConfig& cfg, int64_t layer) : layer_(layer) {
    a = register_module("a", torch::nn::Linear(torch::nn::LinearOptions(cfg.d_model, cfg.d_model).bias(false)));
    b = register_module("b", torch::nn::Linear(torch::nn::LinearOptions(cfg.d_model, cfg.d_model).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override {
    seen_layer = ctx.layer;
    seen_tokens = ctx.token_ids;
    return a(x);
  }
  torch::Tensor aux_loss() const override { return torch::tensor(static_cast<double>(layer_ + 1)); }
  nlohmann::json stats() const override { return {{"layer_seen", seen_layer}}; }
  int64_t active_params() const override { return a->weight.numel(); }
  double flops_per_token() const override { return 2.0 * static_cast<double>(a->weight.numel()); }

  torch::nn::Linear a{nullptr}, b{nullptr};
  int64_t seen_layer = -1;
  torch::Tensor seen_tokens;

 private:
  int64_t layer_;
};

std::vector<std::shared_ptr<HalfActiveFfn>>& made() {
  static std::vector<std::shared_ptr<HalfActiveFfn>> blocks;
  return blocks;
}

ModelConfig with_half_active_ffn() {
  static bool registered = [] {
    FfnRegistry::instance().add("test_half_active", [](const ModelConfig& cfg, int64_t layer) {
      made().push_back(std::make_shared<HalfActiveFfn>(cfg, layer));
      return made().back();
    });
    return true;
  }();
  (void)registered;
  ModelConfig c;
  c.n_layer = 3;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = 20;
  c.ffn.type = "test_half_active";
  return c;
}

}  // namespace

TEST(FfnPlumbing, BlocksGetTheirLayerAndTheTokensAndAuxLossesAreSummed) {
  made().clear();
  Transformer model(with_half_active_ffn());
  ASSERT_EQ(made().size(), 3u);
  auto idx = torch::randint(20, {2, 5}, torch::kInt64);
  model->forward(idx);
  for (int64_t l = 0; l < 3; ++l) {
    EXPECT_EQ(made()[l]->seen_layer, l);
    EXPECT_TRUE(torch::equal(made()[l]->seen_tokens, idx));
  }
  EXPECT_DOUBLE_EQ(model->aux_loss().item<double>(), 1.0 + 2.0 + 3.0);
  EXPECT_EQ(model->ffn_stats()["layer2"]["layer_seen"], 2);
}

TEST(FfnPlumbing, ActiveParamsAndFlopsUseWhatTheBlockReports) {
  made().clear();
  auto cfg = with_half_active_ffn();
  Transformer model(cfg);
  int64_t C = 16, unused = C * C;
  EXPECT_EQ(model->total_params() - model->active_params(), 3 * unused);
  // per layer: attention 4C^2 + the block's C^2 matmul weights, plus the head; attention 4TC.
  int64_t T = 8;
  double forward = 3 * (2.0 * 5 * C * C + 4.0 * T * C) + 2.0 * 20 * C;
  EXPECT_DOUBLE_EQ(model->train_flops_per_token(T), 3 * forward);
}

TEST(FfnPlumbing, DeferredStatsReadTheirTensorsWhenAsked) {
  DeferredStats s;
  auto share = torch::tensor(0.25, torch::kFloat);
  s.set("share", share);
  s.set("dropped", torch::tensor(int64_t{3}));
  s.set("load", torch::tensor({0.5, 0.5}));
  s.set("tokens", 8);
  share.fill_(0.75);  // read at json(), not at set(): the value of the tensor then
  nlohmann::json j = s.json();
  EXPECT_DOUBLE_EQ(j["share"].get<double>(), 0.75);
  EXPECT_TRUE(j["dropped"].is_number_integer());
  EXPECT_EQ(j["dropped"].get<int64_t>(), 3);
  EXPECT_EQ(j["load"], nlohmann::json({0.5, 0.5}));
  EXPECT_EQ(j["tokens"], 8);
  s.clear();
  EXPECT_TRUE(s.json().empty());
  EXPECT_THROW(s.set("matrix", torch::zeros({2, 2})), c10::Error);
}

TEST(Init, ResidualProjectionsAreScaledByOneOverSqrtTwoL) {
  ModelConfig c;
  c.n_layer = 8;
  c.n_head = 4;
  c.d_model = 256;
  c.vocab_size = 64;
  c.init_std = 0.05;
  torch::manual_seed(0);
  Transformer model(c);
  auto params = model->named_parameters();
  double scaled = 0.05 / std::sqrt(16.0);
  EXPECT_NEAR(params["blocks.3.attn.wq.weight"].std().item<double>(), 0.05, 0.05 * 0.02);
  EXPECT_NEAR(params["blocks.3.attn.wo.weight"].std().item<double>(), scaled, scaled * 0.02);
  EXPECT_NEAR(params["blocks.3.ffn.w2.weight"].std().item<double>(), scaled, scaled * 0.02);
  EXPECT_NEAR(params["tok_emb.weight"].std().item<double>(), 0.05, 0.05 * 0.05);
  EXPECT_TRUE(torch::equal(params["norm.weight"], torch::ones({256})));
  c.scaled_residual_init = false;
  EXPECT_NEAR(Transformer(c)->named_parameters()["blocks.3.attn.wo.weight"].std().item<double>(), 0.05, 0.05 * 0.02);
}

TEST(Dropout, ActsInTrainingOnly) {
  ModelConfig c;
  c.arch = "gpt2";
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = 20;
  c.max_seq_len = 16;
  c.dropout = 0.3;
  torch::manual_seed(0);
  Transformer with(c);
  c.dropout = 0.0;
  torch::manual_seed(0);
  Transformer without(c);
  auto idx = torch::randint(20, {2, 6}, torch::kInt64);
  EXPECT_FALSE(torch::allclose(with->forward(idx), with->forward(idx)));  // train mode: random masks
  with->eval();
  without->eval();
  EXPECT_TRUE(torch::equal(with->forward(idx), without->forward(idx)));
}
