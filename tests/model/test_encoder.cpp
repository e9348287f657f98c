// The BERT-style encoder: padding independence, bidirectionality, the tied MLM head, the pooler,
// parameter and FLOP counts by hand, gradients; and make_backbone's dispatch.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/model/backbone.h"
#include "lmlab/model/cnn.h"
#include "lmlab/model/encoder.h"
#include "lmlab/model/vit.h"

using namespace lmlab;
using namespace lmlab::model;
using torch::indexing::Slice;

namespace {

ModelConfig tiny_encoder() {
  ModelConfig c;
  c.family = "encoder";
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 8;
  c.vocab_size = 30;
  c.max_seq_len = 12;
  c.ffn.hidden = 20;
  c.encoder.n_segments = 3;
  return c;
}

Encoder make_encoder(const ModelConfig& c) {
  torch::manual_seed(0);
  Encoder e(c);
  e->to(torch::kFloat64);
  e->eval();
  return e;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(Encoder, RealTokensDoNotDependOnPadding) {
  auto e = make_encoder(tiny_encoder());
  auto ids = torch::randint(0, 30, {1, 5}, torch::kInt64);
  auto segs = torch::tensor({0, 0, 1, 1, 2}, torch::kInt64).view({1, 5});
  auto alone = e->hidden({ids, segs, {}, {}});  // (1, 5, C)
  for (int64_t pad : {1, 4}) {
    auto padded_ids = torch::cat({ids, torch::randint(0, 30, {1, pad}, torch::kInt64)}, 1);
    auto padded_segs = torch::cat({segs, torch::zeros({1, pad}, torch::kInt64)}, 1);
    auto mask = torch::cat({torch::ones({1, 5}, torch::kBool), torch::zeros({1, pad}, torch::kBool)}, 1);
    auto h = e->hidden({padded_ids, padded_segs, mask, {}});
    EXPECT_LT(max_abs_diff(h.narrow(1, 0, 5), alone), 1e-12) << pad;
    EXPECT_LT(max_abs_diff(e->pooled({padded_ids, padded_segs, mask, {}}), alone.select(1, 0)), 1e-12);
  }
}

TEST(Encoder, EveryPositionSeesEveryRealToken) {
  auto e = make_encoder(tiny_encoder());
  auto ids = torch::randint(0, 29, {1, 6}, torch::kInt64);
  auto changed = ids.clone();
  changed.index_put_({0, 5}, 29);
  EXPECT_GT(max_abs_diff(e->hidden({ids}).select(1, 0), e->hidden({changed}).select(1, 0)), 1e-6);
  EXPECT_THROW(e->hidden({torch::zeros({1, 13}, torch::kInt64)}), UserError);  // > max_seq_len
}

TEST(Encoder, MlmHeadIsTiedToTheTokenEmbedding) {
  auto e = make_encoder(tiny_encoder());
  EXPECT_EQ(e->mlm_weight().data_ptr(), e->tok_emb->weight.data_ptr());
  for (const auto& p : e->named_parameters()) {  // no second (V, C) matrix
    if (p.value().sizes() == torch::IntArrayRef({30, 8})) {
      EXPECT_EQ(p.key(), "tok_emb.weight");
    }
  }
  auto h = torch::randn({2, 3, 8}, torch::kFloat64);
  auto t = torch::layer_norm(torch::gelu(torch::matmul(h, e->mlm_dense->weight.t()) + e->mlm_dense->bias), {8},
                             e->named_parameters()["mlm_norm.weight"], e->named_parameters()["mlm_norm.bias"], 1e-5);
  {
    torch::NoGradGuard no_grad;
    e->mlm_bias.normal_();
  }
  auto want = torch::matmul(t, e->tok_emb->weight.t()) + e->mlm_bias;
  EXPECT_LT(max_abs_diff(e->mlm_logits(h), want), 1e-12);
  e->mlm_logits(h).sum().backward();
  EXPECT_GT(e->tok_emb->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(Encoder, PoolerIsTanhOfADenseLayerOnCls) {
  auto c = tiny_encoder();
  EXPECT_EQ(make_encoder(c)->pooler.is_empty(), true);
  c.encoder.tanh_pooler = true;
  auto e = make_encoder(c);
  auto ids = torch::randint(0, 30, {2, 4}, torch::kInt64);
  auto cls = e->hidden({ids}).select(1, 0);
  EXPECT_LT(max_abs_diff(e->pooled({ids}), torch::tanh(torch::matmul(cls, e->pooler->weight.t()) + e->pooler->bias)), 1e-12);
  EXPECT_EQ(e->feature_dim(), 8);
}

TEST(Encoder, ParameterAndFlopCountsEqualAHandCount) {
  auto c = tiny_encoder();
  c.encoder.tanh_pooler = true;
  Encoder e(c);
  const int64_t V = 30, P = 12, S = 3, C = 8, F = 20, L = 2;
  int64_t embeddings = V * C + P * C + S * C + 2 * C;
  int64_t block = 4 * (C * C + C) + (C * F + F) + (F * C + C) + 2 * (2 * C);
  int64_t heads = (C * C + C) + 2 * C + V + (C * C + C);  // mlm dense, mlm norm, mlm bias, pooler
  EXPECT_EQ(e->total_params(), embeddings + L * block + heads);
  // per token and layer: 2 (4 C^2 + 2 C F) + 4 T C, over T = max_seq_len tokens, + the pooler
  double T = 12, per_token = 2.0 * (4 * C * C + 2 * C * F) + 4.0 * T * C;
  EXPECT_EQ(e->train_flops_per_sample(), 3.0 * (T * L * per_token + 2.0 * C * C));
  EXPECT_EQ(e->mlm_flops_per_token(), 2.0 * (C * C + V * C));
}

TEST(Encoder, GradientsReachEveryParameter) {
  auto c = tiny_encoder();
  c.encoder.tanh_pooler = true;
  c.dropout = 0.1;
  torch::manual_seed(1);
  Encoder e(c);
  e->train();
  auto ids = torch::randint(0, 30, {2, 12}, torch::kInt64);
  auto segs = torch::randint(0, 3, {2, 12}, torch::kInt64);
  auto h = e->hidden({ids, segs, torch::ones({2, 12}, torch::kBool), {}});
  (e->mlm_logits(h).pow(2).mean() + e->pool(h).sum()).backward();
  for (const auto& p : e->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

TEST(Encoder, BadConfigsAreUserErrors) {
  auto c = tiny_encoder();
  c.vocab_size = 0;
  EXPECT_THROW(Encoder{c}, UserError);
  c = tiny_encoder();
  c.d_model = 9;
  EXPECT_THROW(Encoder{c}, UserError);
  c = tiny_encoder();
  c.encoder.n_segments = 0;
  EXPECT_THROW(Encoder{c}, UserError);
}

TEST(Backbone, MakeBackboneFollowsTheFamily) {
  auto c = tiny_encoder();
  EXPECT_NE(std::dynamic_pointer_cast<EncoderImpl>(make_backbone(c)), nullptr);
  c.family = "vit";
  EXPECT_NE(std::dynamic_pointer_cast<VitImpl>(make_backbone(c)), nullptr);
  c.family = "cnn";
  EXPECT_NE(std::dynamic_pointer_cast<CnnImpl>(make_backbone(c)), nullptr);
  c.family = "decoder";
  EXPECT_THROW(make_backbone(c), UserError);
}
