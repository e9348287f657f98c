// The ViT and the CNN: shapes, parameter and FLOP counts against a hand count, gradients, and
// the properties their choices promise (CLS pooling, GroupNorm's batch independence).
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/model/cnn.h"
#include "lmlab/model/vit.h"

using namespace lmlab;
using namespace lmlab::model;

namespace {

ModelConfig tiny_vit() {
  ModelConfig c;
  c.family = "vit";
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 8;
  c.ffn.hidden = 16;
  c.image.size = 8;
  c.image.channels = 3;
  c.vit.patch_size = 4;
  return c;
}

ModelConfig tiny_cnn(const std::string& norm) {
  ModelConfig c;
  c.family = "cnn";
  c.image.size = 16;
  c.image.channels = 3;
  c.cnn.channels = {4, 8};
  c.cnn.blocks = 2;
  c.cnn.norm = norm;
  c.cnn.groups = 2;
  return c;
}

void expect_every_parameter_gets_a_gradient(torch::nn::Module& m) {
  for (const auto& p : m.named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

}  // namespace

TEST(Vit, ShapesAndClsPooling) {
  torch::manual_seed(0);
  Vit v(tiny_vit());
  v->eval();
  auto images = torch::randn({3, 3, 8, 8});
  auto tokens = v->tokens(images);
  EXPECT_EQ(tokens.sizes(), torch::IntArrayRef({3, 1 + 4, 8}));
  EXPECT_EQ(v->n_patches(), 4);
  EXPECT_TRUE(torch::equal(v->pooled({{}, {}, {}, images}), tokens.select(1, 0)));
  EXPECT_EQ(v->feature_dim(), 8);
  EXPECT_THROW(v->tokens(torch::randn({1, 3, 12, 12})), c10::Error);
}

TEST(Vit, EachPatchComesFromItsOwnPixels) {
  // The patch embedding is a linear map of each P x P patch: changing the bottom-right patch
  // changes only its own token before the blocks, so with no blocks the other patch tokens stay.
  auto c = tiny_vit();
  torch::manual_seed(1);
  Vit v(c);
  auto images = torch::randn({1, 3, 8, 8});
  auto changed = images.clone();
  changed.index_put_({0, torch::indexing::Slice(), torch::indexing::Slice(4, 8), torch::indexing::Slice(4, 8)}, 0.0);
  auto a = v->patch_emb(images).flatten(2), b = v->patch_emb(changed).flatten(2);  // (1, C, N)
  EXPECT_TRUE(torch::equal(a.narrow(2, 0, 3), b.narrow(2, 0, 3)));
  EXPECT_FALSE(torch::equal(a.narrow(2, 3, 1), b.narrow(2, 3, 1)));
}

TEST(Vit, ParameterAndFlopCountsEqualAHandCount) {
  Vit v(tiny_vit());
  const int64_t C = 8, F = 16, L = 2, Ch = 3, P = 4, N = 4, T = 1 + N;
  int64_t embed = (Ch * P * P * C + C) + C + T * C;  // patch conv, cls, positions
  int64_t block = 4 * (C * C + C) + (C * F + F) + (F * C + C) + 2 * (2 * C);
  EXPECT_EQ(v->total_params(), embed + L * block + 2 * C);
  double per_token = 2.0 * (4 * C * C + 2 * C * F) + 4.0 * T * C;
  EXPECT_EQ(v->train_flops_per_sample(), 3.0 * (2.0 * N * Ch * P * P * C + static_cast<double>(L * T) * per_token));
}

TEST(Vit, GradientsReachEveryParameter) {
  auto c = tiny_vit();
  c.dropout = 0.1;
  torch::manual_seed(2);
  Vit v(c);
  v->train();
  v->tokens(torch::randn({2, 3, 8, 8})).pow(2).sum().backward();
  expect_every_parameter_gets_a_gradient(*v);
}

TEST(Vit, PatchSizeMustDivideTheImage) {
  auto c = tiny_vit();
  c.vit.patch_size = 3;
  EXPECT_THROW(Vit{c}, UserError);
  c = tiny_vit();
  c.n_head = 3;
  EXPECT_THROW(Vit{c}, UserError);
}

TEST(Cnn, ShapesHalveTheResolutionPerStage) {
  for (const char* norm : {"batch", "group"}) {
    torch::manual_seed(3);
    Cnn m(tiny_cnn(norm));
    auto images = torch::randn({2, 3, 16, 16});
    EXPECT_EQ(m->features(images).sizes(), torch::IntArrayRef({2, 8, 8, 8})) << norm;
    EXPECT_EQ(m->pooled({{}, {}, {}, images}).sizes(), torch::IntArrayRef({2, 8}));
    EXPECT_EQ(m->feature_dim(), 8);
    EXPECT_EQ(m->blocks.size(), 4u);
    EXPECT_FALSE(m->blocks[2]->shortcut.is_empty());   // first block of stage 2: stride 2, 4 -> 8 channels
    EXPECT_TRUE(m->blocks[1]->shortcut.is_empty());  // same shape: identity
  }
}

TEST(Cnn, ParameterAndFlopCountsEqualAHandCount) {
  for (const char* norm : {"batch", "group"}) {
    Cnn m(tiny_cnn(norm));
    auto conv = [](int64_t in, int64_t out, int64_t k) { return in * out * k * k; };
    auto cn = [&](int64_t in, int64_t out, int64_t k) { return conv(in, out, k) + 2 * out; };  // + norm gain, bias
    int64_t params = cn(3, 4, 3)                                       // stem
                     + 2 * (2 * cn(4, 4, 3))                           // stage 1: two identity blocks
                     + (cn(4, 8, 3) + cn(8, 8, 3) + cn(4, 8, 1))       // stage 2, block 1 (projection)
                     + 2 * cn(8, 8, 3);                                // stage 2, block 2
    EXPECT_EQ(m->total_params(), params) << norm;
    // 2 x MACs at each conv's output resolution: 16 x 16 through stage 1, 8 x 8 in stage 2
    double macs = conv(3, 4, 3) * 256.0 + 4 * conv(4, 4, 3) * 256.0 +
                  (conv(4, 8, 3) + conv(8, 8, 3) + conv(4, 8, 1) + 2 * conv(8, 8, 3)) * 64.0;
    EXPECT_EQ(m->train_flops_per_sample(), 3.0 * 2.0 * macs) << norm;
  }
}

TEST(Cnn, GradientsReachEveryParameter) {
  for (const char* norm : {"batch", "group"}) {
    torch::manual_seed(4);
    Cnn m(tiny_cnn(norm));
    m->train();
    m->pooled({{}, {}, {}, torch::randn({3, 3, 16, 16})}).pow(2).sum().backward();
    expect_every_parameter_gets_a_gradient(*m);
  }
}

TEST(Cnn, GroupNormMakesASampleIndependentOfItsBatch) {
  torch::manual_seed(5);
  Cnn m(tiny_cnn("group"));
  m->train();
  auto images = torch::randn({4, 3, 16, 16});
  auto batch = m->pooled({{}, {}, {}, images});
  auto alone = m->pooled({{}, {}, {}, images.narrow(0, 0, 1)});
  EXPECT_LT((batch[0] - alone[0]).abs().max().item<double>(), 1e-5);
}

TEST(Cnn, BadConfigsAreUserErrors) {
  auto c = tiny_cnn("group");
  c.cnn.groups = 3;
  EXPECT_THROW(Cnn{c}, UserError);
  c = tiny_cnn("batch");
  c.cnn.channels = {};
  EXPECT_THROW(Cnn{c}, UserError);
  c = tiny_cnn("batch");
  c.cnn.blocks = 0;
  EXPECT_THROW(Cnn{c}, UserError);
}
