// The attention block's inputs and outputs against direct references in double: bidirectional
// attention, the key padding mask, the additive key bias, the returned softmax matrix and its
// reuse (UniAttn), the key metric (ToMe), the unchanged causal fast path, and the registries.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/model/attention.h"
#include "lmlab/model/block.h"
#include "lmlab/model/ffn_dense.h"
#include "lmlab/model/ffn.h"

using namespace lmlab;
using namespace lmlab::model;
using torch::indexing::Slice;

namespace {

AttentionOptions opts(bool causal, int64_t n_kv_head = 0) {
  AttentionOptions o;
  o.d_model = 16;
  o.n_head = 4;
  o.n_kv_head = n_kv_head;
  o.bias = true;
  o.causal = causal;
  return o;
}

std::shared_ptr<MultiHeadAttentionImpl> make_attention(const AttentionOptions& o, uint64_t seed = 0) {
  torch::manual_seed(seed);
  auto a = std::make_shared<MultiHeadAttentionImpl>(o);
  a->init_weights(0.3, 0.3);
  {
    torch::NoGradGuard no_grad;  // non-zero biases, so the reference has to apply them
    for (auto& p : a->named_parameters())
      if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.1);
  }
  a->to(torch::kFloat64);
  a->eval();
  return a;
}

// softmax((x Wq^T + bq)(x Wk^T + bk)^T / sqrt(D) + logit_bias) (x Wv^T + bv) Wo^T + bo, head by
// head with explicit loops over the batch; logit_bias (B, Tk) is added to every query's row;
// `visible` (B, Tk) bool drops keys.
torch::Tensor reference(MultiHeadAttentionImpl& a, const torch::Tensor& x, bool causal, const torch::Tensor& logit_bias,
                        const torch::Tensor& visible) {
  const auto& o = a.options();
  int64_t B = x.size(0), T = x.size(1), H = o.n_head, D = o.head_dim(), group = H / o.kv_heads();
  auto lin = [](const torch::nn::Linear& l, const torch::Tensor& t) { return torch::matmul(t, l->weight.t()) + l->bias; };
  auto q = lin(a.wq, x), k = lin(a.wk, x), v = lin(a.wv, x);
  auto out = torch::zeros({B, T, H * D}, x.options());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      auto qh = q[b].index({Slice(), Slice(h * D, (h + 1) * D)});  // (T, D)
      auto kh = k[b].index({Slice(), Slice(h / group * D, (h / group + 1) * D)});
      auto vh = v[b].index({Slice(), Slice(h / group * D, (h / group + 1) * D)});
      auto s = torch::matmul(qh, kh.t()) / std::sqrt(static_cast<double>(D));  // (T, T)
      if (logit_bias.defined()) s = s + logit_bias[b].unsqueeze(0);
      auto keep = torch::ones({T, T}, torch::kBool);
      if (causal) keep = torch::tril(keep);
      if (visible.defined()) keep = keep & visible[b].unsqueeze(0);
      s = s.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
      out[b].index_put_({Slice(), Slice(h * D, (h + 1) * D)}, torch::matmul(torch::softmax(s, -1), vh));
    }
  return lin(a.wo, out);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(AttentionBlock, BidirectionalAndCausalEqualTheReference) {
  for (bool causal : {false, true})
    for (int64_t kv : {0, 2}) {
      auto a = make_attention(opts(causal, kv));
      auto x = torch::randn({2, 7, 16}, torch::kFloat64);
      EXPECT_LT(max_diff(a->forward({x}).y, reference(*a, x, causal, {}, {})), 1e-12) << causal << " kv " << kv;
    }
}

TEST(AttentionBlock, BidirectionalLetsEarlyPositionsSeeLaterOnes) {
  auto a = make_attention(opts(false));
  auto x = torch::randn({1, 5, 16}, torch::kFloat64);
  auto x2 = x.clone();
  x2.index_put_({0, 4}, torch::randn({16}, torch::kFloat64));
  EXPECT_GT(max_diff(a->forward({x}).y[0][0], a->forward({x2}).y[0][0]), 1e-6);
}

TEST(AttentionBlock, PaddingMaskEqualsRunningWithoutThePaddedKeys) {
  for (bool causal : {false, true}) {
    auto a = make_attention(opts(causal, 2), 1);
    auto x = torch::randn({2, 6, 16}, torch::kFloat64);
    auto mask = torch::ones({2, 6}, torch::kBool);
    mask.index_put_({1, Slice(4, 6)}, false);  // row 1: 4 real tokens, 2 padding
    AttentionIn in{x};
    in.pad_mask = mask;
    auto y = a->forward(in).y;
    EXPECT_LT(max_diff(y[0], a->forward({x.narrow(0, 0, 1)}).y[0]), 1e-12);
    auto short_row = x.index({Slice(1, 2), Slice(0, 4)});
    EXPECT_LT(max_diff(y[1].narrow(0, 0, 4), a->forward({short_row}).y[0]), 1e-12) << causal;
  }
}

TEST(AttentionBlock, KeyBiasIsAddedToTheLogits) {
  for (bool causal : {false, true}) {
    auto a = make_attention(opts(causal), 2);
    auto x = torch::randn({2, 5, 16}, torch::kFloat64);
    auto bias = torch::log(torch::randint(1, 5, {2, 5}, torch::kFloat64));  // ToMe: log(size)
    auto mask = torch::ones({2, 5}, torch::kBool);
    mask.index_put_({0, 3}, false);
    AttentionIn in{x};
    in.key_bias = bias;
    in.pad_mask = mask;
    EXPECT_LT(max_diff(a->forward(in).y, reference(*a, x, causal, bias, mask)), 1e-12) << causal;
  }
}

// The decoder's last block when only the next token is wanted: the last query alone, against
// every position's keys (a single query needs no causal mask), equals the last row of the full
// call, with the cache, a key bias and padding, and the returned softmax row.
TEST(AttentionBlock, LastQueryOnlyEqualsTheLastRowOfTheFullCall) {
  auto a = make_attention(opts(true, 2), 4);
  auto x = torch::randn({2, 7, 16}, torch::kFloat64);
  auto rope = rope_tables(3, 7, 4, 10000.0, torch::kCPU);
  auto bias = torch::log(torch::randint(1, 5, {2, 7}, torch::kFloat64));
  auto mask = torch::ones({2, 7}, torch::kBool);
  mask.index_put_({1, 2}, false);
  for (int variant = 0; variant < 3; ++variant) {  // plain + RoPE + cache, key bias + padding, softmax asked
    torch::Tensor k_full, v_full, k_last, v_last;
    AttentionIn full{x}, last{x};
    if (variant == 0) {
      for (auto* in : {&full, &last}) in->rope = &rope;
      full.k_cache = &k_full, full.v_cache = &v_full, last.k_cache = &k_last, last.v_cache = &v_last;
    }
    if (variant == 1) full.key_bias = last.key_bias = bias, full.pad_mask = last.pad_mask = mask;
    if (variant == 2) full.want_probs = last.want_probs = true;
    last.last_query_only = true;
    auto want = a->forward(full), got = a->forward(last);
    ASSERT_EQ(got.y.sizes(), (std::vector<int64_t>{2, 1, 16})) << variant;
    EXPECT_LT(max_diff(got.y, want.y.narrow(1, 6, 1)), 1e-12) << variant;
    if (variant == 0) {
      EXPECT_TRUE(torch::equal(k_last, k_full) && torch::equal(v_last, v_full));  // every position cached
    }
    if (variant == 2) {
      EXPECT_LT(max_diff(got.probs, want.probs.narrow(2, 6, 1)), 1e-12);
    }
  }
}

TEST(AttentionBlock, ReturnedSoftmaxRowsSumToOneAndFeedingItBackReproducesTheOutput) {
  for (bool causal : {false, true}) {
    auto a = make_attention(opts(causal, 2), 3);
    auto x = torch::randn({2, 6, 16}, torch::kFloat64);
    AttentionIn in{x};
    in.want_probs = true;
    auto out = a->forward(in);
    ASSERT_EQ(out.probs.sizes(), torch::IntArrayRef({2, 4, 6, 6}));
    EXPECT_LT(max_diff(out.probs.sum(-1), torch::ones({2, 4, 6}, torch::kFloat64)), 1e-12);
    if (causal) {
      EXPECT_EQ(out.probs.triu(1).abs().max().item<double>(), 0.0);
    }
    EXPECT_LT(max_diff(out.y, a->forward({x}).y), 1e-12);
    AttentionIn reuse{x};
    reuse.probs = out.probs;
    EXPECT_TRUE(torch::equal(a->forward(reuse).y, out.y)) << causal;
  }
}

TEST(AttentionBlock, ReusePathRunsNeitherQueryNorKeyProjection) {
  auto a = make_attention(opts(false), 4);
  auto x = torch::randn({1, 5, 16}, torch::kFloat64);
  AttentionIn in{x};
  in.want_probs = true;
  auto first = a->forward(in);
  {
    torch::NoGradGuard no_grad;  // a computed q or k would now poison the output
    a->wq->weight.fill_(std::numeric_limits<double>::quiet_NaN());
    a->wk->weight.fill_(std::numeric_limits<double>::quiet_NaN());
  }
  AttentionIn reuse{x};
  reuse.probs = first.probs.detach();
  auto y = a->forward(reuse).y;
  EXPECT_TRUE(torch::equal(y, first.y.detach()));
  y.sum().backward();
  EXPECT_FALSE(a->wq->weight.grad().defined());
  EXPECT_FALSE(a->wk->weight.grad().defined());
  EXPECT_TRUE(a->wv->weight.grad().defined());
}

TEST(AttentionBlock, KeyMeanIsTheKeysAveragedOverHeads) {
  auto a = make_attention(opts(false, 2), 5);
  auto x = torch::randn({2, 5, 16}, torch::kFloat64);
  AttentionIn in{x};
  in.want_key_mean = true;
  auto km = a->forward(in).key_mean;  // (B, T, D)
  auto k = (torch::matmul(x, a->wk->weight.t()) + a->wk->bias).view({2, 5, 2, 4});
  EXPECT_LT(max_diff(km, (k.select(2, 0) + k.select(2, 1)) / 2), 1e-12);
}

TEST(AttentionBlock, PlainCausalCallIsTheUnchangedFastPath) {
  // Nothing special asked: exactly causal_attention on the projected heads (bit for bit).
  torch::manual_seed(6);
  AttentionOptions o = opts(true, 2);
  o.bias = false;
  MultiHeadAttentionImpl a(o);
  a.init_weights(0.02, 0.01);
  auto x = torch::randn({2, 8, 16});
  auto heads = [](const torch::Tensor& t, int64_t h) { return t.view({2, 8, h, 4}).transpose(1, 2); };
  auto q = heads(a.wq(x), 4), k = heads(a.wk(x), 2).repeat_interleave(2, 1), v = heads(a.wv(x), 2).repeat_interleave(2, 1);
  auto want = a.wo(causal_attention(q, k, v, 0.0).transpose(1, 2).contiguous().view({2, 8, 16}));
  EXPECT_TRUE(torch::equal(a.forward({x}).y, want));
}

TEST(AttentionBlock, InitWeightsUsesTheTwoStds) {
  torch::manual_seed(7);
  AttentionOptions o = opts(false);
  o.d_model = 256;
  o.n_head = 8;
  MultiHeadAttentionImpl a(o);
  a.init_weights(0.05, 0.01);
  EXPECT_NEAR(a.wq->weight.std().item<double>(), 0.05, 0.002);
  EXPECT_NEAR(a.wo->weight.std().item<double>(), 0.01, 0.0005);
  EXPECT_EQ(a.wq->bias.abs().max().item<double>(), 0.0);
  // 2 x (4 C^2) projection MACs + 4 Tk H D for the two attention matmuls
  EXPECT_EQ(a.flops_per_token(10), 2.0 * 4 * 256 * 256 + 4.0 * 10 * 256);
}

namespace {
Block make_block(bool post_norm, int64_t layer) {
  BlockOptions o;
  o.attn = opts(false);
  o.norm = NormOptions::layer_norm(16, 1e-5);
  o.post_norm = post_norm;
  DenseFfnOptions f;
  f.d_model = 16;
  f.hidden = 32;
  f.activation = Activation::Gelu;
  Block b(o, layer, [&] { return std::make_shared<DenseFfnImpl>(f); });
  b->to(torch::kFloat64);
  return b;
}
}  // namespace

TEST(Block, PreAndPostNormComposeTheirParts) {
  torch::manual_seed(8);
  auto x = torch::randn({2, 5, 16}, torch::kFloat64);
  for (bool post : {false, true}) {
    auto b = make_block(post, 0);
    BlockContext ctx;
    auto got = b->forward(x, ctx);
    auto attn = [&](const torch::Tensor& t) { return b->attn->forward({t}).y; };
    auto ffn = [&](const torch::Tensor& t) { return b->ffn->forward(t, {}); };
    torch::Tensor want;
    if (post) {
      auto h = b->attn_norm(x + attn(x));
      want = b->ffn_norm(h + ffn(h));
    } else {
      auto h = x + attn(b->attn_norm(x));
      want = h + ffn(b->ffn_norm(h));
    }
    EXPECT_LT(max_diff(got, want), 1e-12) << post;
  }
}

TEST(Block, ContextCarriesTheSoftmaxMatrixToTheNextLayer) {
  torch::manual_seed(9);
  auto first = make_block(false, 0), second = make_block(false, 1);
  auto x = torch::randn({2, 5, 16}, torch::kFloat64);
  BlockContext ctx;
  ctx.keep_probs = true;
  auto h = first->forward(x, ctx);
  ASSERT_EQ(ctx.probs.sizes(), torch::IntArrayRef({2, 4, 5, 5}));
  auto shared = ctx.probs;
  ctx.reuse_probs = true;
  {
    torch::NoGradGuard no_grad;  // the reusing layer must not touch its query/key projections
    second->attn->named_parameters()["wq.weight"].fill_(std::numeric_limits<double>::quiet_NaN());
  }
  auto y = second->forward(h, ctx);
  EXPECT_EQ(ctx.layer, 1);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  EXPECT_TRUE(torch::equal(ctx.probs, shared));  // a reusing layer passes the matrix on unchanged
}

TEST(AttentionRegistry, KnowsMhaAndSuggestsTheClosestName) {
  EXPECT_EQ(AttentionRegistry::instance().names(), std::vector<std::string>{"mha"});
  EXPECT_EQ(attention_type_names(), std::vector<std::string>{"mha"});
  try {
    AttentionRegistry::instance().make("mhaa", opts(true));
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'mha'"), std::string::npos) << e.what();
  }
}

namespace {
struct Doc {
  ModelConfig model;
  template <class V>
  void visit(V& v) {
    v.section("model", model);
  }
};
}  // namespace

TEST(ModelConfigChoices, TheOldAttentionKeyStillNamesTheType) {
  Doc doc;
  auto schema = config::Schema::of(doc);
  config::apply_toml_text(schema, "[model]\nattention = \"mha\"\n", "old.toml");  // checkpoints before [model.attention]
  EXPECT_EQ(doc.model.attention.type, "mha");
  config::apply_overrides(schema, {"model.attention=mha"});
  EXPECT_EQ(doc.model.attention.type, "mha");
  EXPECT_THROW(config::apply_toml_text(schema, "[model]\nattention = \"mhx\"\n", "old.toml"), UserError);
}

TEST(ModelConfigChoices, ComeFromTheRegistries) {
  Doc doc;
  auto schema = config::Schema::of(doc);
  EXPECT_EQ(schema.find("model.ffn.type")->choices, FfnRegistry::instance().names());
  EXPECT_EQ(schema.find("model.attention.type")->choices, AttentionRegistry::instance().names());
  for (const char* name : {"dense", "moe", "mask_moe", "finedeep"}) {
    const auto& c = schema.find("model.ffn.type")->choices;
    EXPECT_NE(std::find(c.begin(), c.end(), name), c.end()) << name;
  }
  try {
    config::apply_overrides(schema, {"model.ffn.type=mask_mo"});
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'mask_moe'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(config::apply_overrides(schema, {"model.family=vits"}), UserError);
  config::apply_overrides(schema, {"model.family=vit", "model.cnn.channels=[8, 16]"});
  EXPECT_EQ(doc.model.family, "vit");
  EXPECT_EQ(doc.model.cnn.channels, (std::vector<int64_t>{8, 16}));
}
