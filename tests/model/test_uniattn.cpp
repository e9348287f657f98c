// UniAttn SuperBlocks (arXiv 2502.00439) and cross-layer KV sharing in the decoder: the layout
// rule and its errors, g = 1 is the base bit for bit, one softmax matrix per SuperBlock checked
// against a hand computation, W_c on the normalised input, skipping = the released
// (non-skipping) path, KV-cached decoding = a full forward, and the K cache that is not kept.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;
using namespace lmlab::model;
using torch::indexing::Slice;

namespace {

ModelConfig tiny(int64_t layers = 4) {
  ModelConfig c;
  c.n_layer = layers;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.d_model = 32;
  c.vocab_size = 50;
  c.max_seq_len = 64;
  return c;
}

ModelConfig unified(int64_t g, int64_t b, int64_t e, const std::string& share = "softmax", bool wc = false) {
  ModelConfig c = tiny();
  c.attention.unify_group = g;
  c.attention.unify_begin = b;
  c.attention.unify_end = e;
  c.attention.share = share;
  c.attention.compensation = wc;
  return c;
}

Transformer build(const ModelConfig& c, uint64_t seed = 7) {
  torch::manual_seed(seed);
  Transformer m(c);
  m->eval();
  return m;
}

// Random non-zero W_c, so the compensation path is exercised.
void randomise_wc(Transformer& m) {
  torch::NoGradGuard no_grad;
  for (int64_t l = 0; l < m->config().n_layer; ++l)
    if (m->block(l)->wc) m->block(l)->wc->weight.normal_(0.0, 0.05);
}

std::string error_of(const ModelConfig& c) {
  try {
    unify_roles(c.attention, c.n_layer);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

torch::Tensor ids(int64_t B, int64_t T, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return torch::randint(0, 50, {B, T}, torch::kInt64);
}

}  // namespace

TEST(UniAttnLayout, FollowsTheOfficialRule) {
  AttentionConfig a;
  a.unify_group = 4;
  a.unify_begin = 16;
  a.unify_end = 33;  // the README's LLaMA-3.1-8B example: 12 reusing layers in 16..31
  auto roles = unify_roles(a, 32);
  int reuse = 0;
  for (int64_t i = 0; i < 32; ++i) {
    UnifyRole want = i < 16 ? UnifyRole::kPlain : (i - 16) % 4 == 0 ? UnifyRole::kFirst : UnifyRole::kReuse;
    EXPECT_EQ(roles[i], want) << "layer " << i;
    reuse += roles[i] == UnifyRole::kReuse;
  }
  EXPECT_EQ(reuse, (33 - 16) / 4 * (4 - 1));  // the official count floor((e-b)/g)*(g-1)
  a.unify_group = 1;
  for (auto r : unify_roles(a, 32)) EXPECT_EQ(r, UnifyRole::kPlain);
}

TEST(UniAttnLayout, BadGroupsAreConfigErrorsNamingTheKey) {
  EXPECT_NE(error_of(unified(0, 0, -1)).find("model.attention.unify_group"), std::string::npos);
  EXPECT_NE(error_of(unified(2, 4, -1)).find("model.attention.unify_begin"), std::string::npos);
  EXPECT_NE(error_of(unified(2, 2, 2)).find("model.attention.unify_end"), std::string::npos);
  const std::string past = error_of(unified(3, 2, 5));  // SuperBlock 2..4 of a 4-layer model
  EXPECT_NE(past.find("model.attention.unify_end"), std::string::npos) << past;
  EXPECT_NE(past.find("past the last layer"), std::string::npos) << past;
  EXPECT_NE(error_of(unified(2, 0, 3)).find("is cut at layer 3"), std::string::npos);
  EXPECT_THROW(Transformer(unified(3, 2, 5)), UserError);
  EXPECT_EQ(error_of(unified(2, 0, -1)), "");
}

TEST(UniAttn, GroupOfOneIsTheBaseModelBitForBit) {
  auto base = build(tiny());
  auto same = build(unified(1, 1, 3, "softmax", /*wc=*/true));
  auto x = ids(2, 12);
  EXPECT_EQ(base->named_parameters().keys(), same->named_parameters().keys());
  for (const auto& p : base->named_parameters()) EXPECT_TRUE(torch::equal(p.value(), same->named_parameters()[p.key()]));
  EXPECT_TRUE(torch::equal(base->forward(x), same->forward(x)));
}

TEST(UniAttn, EveryLayerOfASuperBlockAttendsWithItsFirstLayersMatrix) {
  auto m = build(unified(2, 0, -1));  // SuperBlocks {0, 1} and {2, 3}
  auto x = ids(2, 9);
  TransformerTrace t;
  m->forward_traced(x, t);
  ASSERT_EQ(t.probs.size(), 4u);
  EXPECT_TRUE(torch::equal(t.probs[0], t.probs[1]));
  EXPECT_TRUE(torch::equal(t.probs[2], t.probs[3]));
  EXPECT_FALSE(torch::allclose(t.probs[0], t.probs[2]));
  // Layer 1 by hand: h1 = x1 + wo(A0 · V1) with x1 = block 0's output and V1 = wv1(Norm(x1)).
  auto b0 = m->block(0), b1 = m->block(1);
  auto x1 = t.post_attn[0] + b0->ffn->forward(b0->ffn_norm(t.post_attn[0]), FfnContext{x, 0, t.post_attn[0]});
  auto* mha = dynamic_cast<MultiHeadAttentionImpl*>(b1->attn.get());
  ASSERT_NE(mha, nullptr);
  int64_t B = 2, T = 9, H = 4, D = 8;
  auto v = mha->wv(b1->attn_norm(x1)).view({B, T, 2, D}).transpose(1, 2).repeat_interleave(2, 1);  // (B, H, T, D)
  auto want = x1 + mha->wo(torch::matmul(t.probs[0], v).transpose(1, 2).reshape({B, T, H * D}));
  EXPECT_TRUE(torch::allclose(t.post_attn[1], want, 1e-5, 1e-6));
}

TEST(UniAttn, CompensationAddsWcOfTheNormalisedInput) {
  auto m = build(unified(2, 0, -1, "softmax", /*wc=*/true));
  EXPECT_FALSE(m->block(0)->wc);  // only reusing layers have W_c
  ASSERT_TRUE(m->block(1)->wc);
  auto x = ids(1, 7);
  TransformerTrace plain, compensated;
  m->forward_traced(x, plain);  // W_c = 0: nothing added
  randomise_wc(m);
  m->forward_traced(x, compensated);
  EXPECT_TRUE(torch::equal(plain.post_attn[0], compensated.post_attn[0]));
  auto delta = compensated.post_attn[1] - plain.post_attn[1];
  EXPECT_TRUE(torch::allclose(delta, m->block(1)->wc(compensated.attn_in[1]), 1e-5, 1e-6));
}

TEST(UniAttn, SkippingEqualsTheReleasedPathAndKeepsNoKCacheThere) {
  auto skip = build(unified(2, 0, -1, "softmax", true));
  randomise_wc(skip);
  ModelConfig released_cfg = skip->config();
  released_cfg.attention.skip_reused = false;
  Transformer released(released_cfg);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : skip->named_parameters()) released->named_parameters()[p.key()].copy_(p.value());
  }
  released->eval();
  auto x = ids(2, 10);
  EXPECT_TRUE(torch::equal(skip->forward(x), released->forward(x)));
  KVCache a, b;
  skip->forward_cached(x, a);
  released->forward_cached(x, b);
  EXPECT_TRUE(a.k[0].defined() && a.v[1].defined());
  EXPECT_FALSE(a.k[1].defined());  // the reusing layer keeps V only
  EXPECT_TRUE(b.k[1].defined());   // the released code still caches K there
}

TEST(UniAttn, CachedDecodingEqualsAFullForward) {
  for (const std::string share : {"softmax", "kv"}) {
    auto m = build(unified(2, 1, 3, share, share == "softmax"));
    randomise_wc(m);
    auto x = ids(2, 11);
    auto full = m->forward(x);  // (B, T, V)
    KVCache cache;
    auto prefill = m->forward_cached(x.index({Slice(), Slice(0, 6)}), cache);
    EXPECT_TRUE(torch::allclose(prefill, full.index({Slice(), Slice(0, 6)}), 1e-5, 1e-5)) << share;
    for (int64_t t = 6; t < 11; ++t) {
      auto step = m->forward_cached(x.index({Slice(), Slice(t, t + 1)}), cache);
      EXPECT_TRUE(torch::allclose(step, full.index({Slice(), Slice(t, t + 1)}), 1e-5, 1e-5)) << share << " t=" << t;
    }
  }
}

TEST(CrossLayerKvSharing, LaterLayersHaveNoKeyValueProjectionsOrCache) {
  auto base = build(tiny());
  auto cla = build(unified(2, 0, -1, "kv"));
  const auto names = cla->named_parameters();
  EXPECT_TRUE(names.contains("blocks.0.attn.wk.weight"));
  EXPECT_FALSE(names.contains("blocks.1.attn.wk.weight"));
  EXPECT_FALSE(names.contains("blocks.1.attn.wv.weight"));
  EXPECT_TRUE(names.contains("blocks.1.attn.wq.weight"));
  const int64_t kv = 2 * 32 * (2 * 8);  // wk + wv of one layer: C x (Hkv D) each
  EXPECT_EQ(base->total_params() - cla->total_params(), 2 * kv);
  KVCache cache;
  cla->forward_cached(ids(1, 5), cache);
  EXPECT_TRUE(cache.k[0].defined());
  EXPECT_FALSE(cache.k[1].defined() || cache.v[1].defined());
}
