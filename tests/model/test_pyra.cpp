// ToMe, LoRA and PYRA in the ViT (docs/pyra.md): the merge schedule and its cap, the protected
// CLS token, size-weighted merging and proportional attention on hand cases, and the identities
// the papers promise (r = 0 changes nothing, W_D = 0 is ToMe bit for bit, merged LoRA = unmerged).
#include <gtest/gtest.h>

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/model/lora.h"
#include "lmlab/model/tome.h"
#include "lmlab/model/vit.h"

using namespace lmlab;
using namespace lmlab::model;

namespace {

// 8x8 images, 2x2 patches: 16 patches + CLS = 17 tokens.
ModelConfig vit(const std::string& schedule, bool pyra = false, int64_t lora_rank = 0) {
  ModelConfig c;
  c.family = "vit";
  c.n_layer = 3;
  c.n_head = 2;
  c.d_model = 8;
  c.ffn.hidden = 16;
  c.image.size = 8;
  c.image.channels = 1;
  c.vit.patch_size = 2;
  c.vit.tome_schedule = schedule;
  c.vit.tome_r = 3;
  c.vit.pyra = pyra;
  c.vit.lora_rank = lora_rank;
  return c;
}

Vit make(const ModelConfig& c, uint64_t seed = 0) {
  torch::manual_seed(seed);
  Vit v(c);
  v->eval();
  return v;
}

}  // namespace

TEST(Tome, PresetsScaledToTheirOwnShapeAreThemselves) {
  for (const char* name : {"low", "high"}) EXPECT_EQ(scale_tome_schedule(tome_preset(name), 12, 197), tome_preset(name)) << name;
  // 4 layers, 65 tokens: cumulative shares 48, 96, 144, 186 of 196 times 64 patch tokens
  // = 15.7, 31.3, 47.0, 60.7 -> 16, 31, 47, 61 merged by the end of each layer.
  EXPECT_EQ(scale_tome_schedule(tome_preset("low"), 4, 65), (std::vector<int64_t>{16, 15, 16, 14}));
  EXPECT_THROW(tome_preset("medium"), UserError);
}

TEST(Tome, ScheduleIsCappedAtHalfTheUnprotectedTokens) {
  // 17 tokens: min(10, 16 / 2) = 8 -> 9 tokens; min(10, 8 / 2) = 4 -> 5; min(10, 4 / 2) = 2 -> 3.
  auto r = capped_schedule({10, 10, 10}, 3, 17);
  EXPECT_EQ(r, (std::vector<int64_t>{8, 4, 2}));
  EXPECT_EQ(token_counts(r, 17), (std::vector<int64_t>{17, 9, 5, 3}));
  EXPECT_EQ(capped_schedule({2}, 3, 17), (std::vector<int64_t>{2, 0, 0}));  // short lists padded with 0
  EXPECT_THROW(capped_schedule({-1}, 1, 17), UserError);
}

TEST(Tome, VitTokenCountsFollowTheSchedule) {
  auto images = torch::rand({2, 1, 8, 8});
  for (const char* s : {"constant", "low", "high"}) {
    Vit v = make(vit(s));
    auto counts = v->token_counts();
    EXPECT_EQ(v->tokens(images).size(1), counts.back()) << s;
    for (size_t l = 0; l < v->tome_schedule().size(); ++l)
      EXPECT_LE(v->tome_schedule()[l], (counts[l] - 1) / 2) << s << " layer " << l;
  }
  EXPECT_EQ(make(vit("constant"))->token_counts(), (std::vector<int64_t>{17, 14, 11, 8}));
  ModelConfig bad = vit("list");
  bad.vit.tome_r_list = {1, 1, 1, 1};
  EXPECT_THROW(Vit{bad}, UserError);
  EXPECT_THROW(Vit{vit("none", /*pyra=*/true)}, UserError);  // PYRA needs merges
}

TEST(Tome, ClsTokenIsNeverMerged) {
  torch::manual_seed(1);
  // Every token's key equals the CLS key's direction: CLS would be the best match of all.
  auto metric = torch::randn({4, 1, 6}).expand({4, 17, 6}) + 0.01 * torch::randn({4, 17, 6});
  for (int64_t r : {1, 4, 8}) {
    MergePlan p = bipartite_soft_matching(metric, r, /*class_token=*/true);
    EXPECT_TRUE(torch::all(p.unm_idx.select(1, 0).squeeze(-1) == 0).item<bool>()) << r;
    EXPECT_FALSE(torch::any(p.src_idx == 0).item<bool>()) << r;
    auto [x, size] = merge_wavg(p, torch::randn({4, 17, 3}), {});
    EXPECT_EQ(x.size(1), 17 - r);
    EXPECT_TRUE(torch::all(size.select(1, 0) == 1).item<bool>()) << r;  // CLS still alone, first
  }
}

TEST(Tome, SizeWeightedMergeOnAHandCase) {
  // Tokens 0..4: A = {0, 2, 4}, B = {1, 3}. Token 2's key equals token 1's, token 4's is
  // orthogonal to both B keys: with r = 1, token 2 merges into token 1.
  auto metric = torch::eye(4).index_select(0, torch::tensor({0, 1, 1, 2, 3})).unsqueeze(0);  // (1, 5, 4)
  auto x = torch::tensor({{1.f}, {2.f}, {7.f}, {4.f}, {5.f}}).unsqueeze(0);  // (1, 5, 1)
  auto size = torch::tensor({{1.f}, {2.f}, {3.f}, {1.f}, {1.f}}).unsqueeze(0);
  MergePlan p = bipartite_soft_matching(metric, 1, true);
  auto [out, new_size] = merge_wavg(p, x, size);
  // [unmerged A in order: 0, 4; B: (2*2 + 3*7) / 5 = 5, 4]
  EXPECT_TRUE(torch::allclose(out.flatten(), torch::tensor({1.f, 5.f, 5.f, 4.f})));
  EXPECT_TRUE(torch::equal(new_size.flatten(), torch::tensor({1.f, 1.f, 5.f, 1.f})));
}

TEST(Tome, ProportionalAttentionCountsAMergedKeyAsItsSize) {
  // softmax(q k^T + log s) over keys [t0, t1, t2] with s = [1, 2, 1] equals plain attention over
  // [t0, t1, t1, t2]: a merged token stands for s identical tokens.
  AttentionOptions o;
  o.d_model = 8;
  o.n_head = 2;
  o.bias = true;
  o.causal = false;
  torch::manual_seed(2);
  MultiHeadAttentionImpl att(o);
  att.init_weights(0.3, 0.3);
  auto t = torch::randn({1, 3, 8});
  AttentionIn merged{t};
  merged.key_bias = torch::tensor({{1.f, 2.f, 1.f}}).log();
  auto y = att.forward(merged).y;  // (1, 3, 8)
  auto dup = att.forward(AttentionIn{torch::cat({t.narrow(1, 0, 2), t.narrow(1, 1, 2)}, 1)}).y;  // (1, 4, 8)
  EXPECT_TRUE(torch::allclose(y, dup.index_select(1, torch::tensor({0, 1, 3})), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(y, att.forward(AttentionIn{t}).y, 1e-3, 1e-4));  // the bias matters
}

TEST(Tome, ZeroMergesIsThePlainBlock) {
  Vit v = make(vit("none"));
  auto x = torch::randn({2, 17, 8});
  BlockContext ctx;
  torch::Tensor size;
  auto plain = v->blocks[0]->forward(x, ctx);
  auto tome = tome_block_forward(*v->blocks[0], x, size, TomeStep{0, 0, true, 0.0, nullptr});
  EXPECT_TRUE(torch::equal(plain, tome));
  EXPECT_FALSE(size.defined());
}

TEST(Pyra, ZeroWdIsToMeBitForBit) {
  auto images = torch::rand({3, 1, 8, 8});
  Vit tome = make(vit("high"));
  Vit pyra = make(vit("high", /*pyra=*/true));
  EXPECT_TRUE(torch::equal(tome->tokens(images), pyra->tokens(images)));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : pyra->pyra)
      if (p) p->w_d.normal_(0.0, 1.0);
  }
  EXPECT_FALSE(torch::allclose(tome->tokens(images), pyra->tokens(images), 1e-4, 1e-5));
}

TEST(Pyra, ParameterCountsWithAndWithoutTheLayerNorm) {
  Vit v = make(vit("constant", /*pyra=*/true));  // r = 3 in each of 3 layers, D = 8
  EXPECT_EQ(v->pyra_params(false), 3 * (8 + 3));
  EXPECT_EQ(v->pyra_params(true), 3 * (8 + 3 + 2 * 8));
  int64_t named = 0;
  for (const auto& p : v->named_parameters())
    if (p.key().rfind("pyra_", 0) == 0) named += p.value().numel();
  EXPECT_EQ(named, v->pyra_params(true));
}

TEST(Lora, ZeroBIsThePlainVitAndMergedEqualsUnmerged) {
  auto images = torch::rand({3, 1, 8, 8});
  Vit plain = make(vit("high"));
  Vit lora = make(vit("high", false, /*lora_rank=*/2));
  EXPECT_TRUE(torch::equal(plain->tokens(images), lora->tokens(images)));  // B = 0 at init
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : lora->named_parameters())
      if (p.key().find("lora_b") != std::string::npos) p.value().normal_(0.0, 0.5);
  }
  auto unmerged = lora->tokens(images);
  EXPECT_FALSE(torch::allclose(unmerged, plain->tokens(images), 1e-3, 1e-4));
  lora->merge_lora();
  EXPECT_TRUE(torch::allclose(lora->tokens(images), unmerged, 1e-4, 1e-5));
  // Same names as the plain ViT's attention, so a pre-trained checkpoint loads.
  std::vector<std::string> names;
  for (const auto& p : lora->named_parameters()) names.push_back(p.key());
  for (const auto& p : plain->named_parameters())
    EXPECT_NE(std::find(names.begin(), names.end(), p.key()), names.end()) << p.key();
}
