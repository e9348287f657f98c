// The baselines the MoE papers compared against (issue #19): CartesianMoE's robustness test with
// the top-1 expert disabled in the first sub-layer only, DSMoE trained without the
// straight-through estimator, and LLaMA-MoE's top-k router over DSMoE's partition of the dense
// FFN. Each against a per-token reference computed from the weights directly.
#include <gtest/gtest.h>

#include <set>

#include "lmlab/common/error.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/moe/cartesian_moe.h"
#include "lmlab/model/moe/dsmoe.h"
#include "moe_test_util.h"

namespace lmlab::model::moe {
namespace {

using namespace testing;

// p with its largest entry zeroed: what the router chooses from with disable_top1.
std::vector<double> without_largest(std::vector<double> p) {
  p[order_desc(p)[0]] = 0.0;
  return p;
}

TEST_F(MoeTest, CartesianTop1DisabledInTheFirstSubLayerOnly) {
  auto o = small_options(4, 2, 1, "coefficient");
  o.disable_top1 = true;
  CartesianMoeImpl first(o, /*top1_in_second=*/false);
  scale_params(first, 10);
  first.eval();
  auto in = batch(8);
  auto h = torch::randn_like(in.x);
  auto hf = h.reshape({kTokens, 8});
  auto sub_layer = [](const RoutedMoeImpl& s, const torch::Tensor& u, bool top1_disabled) {
    auto p = naive_probs(s, u);
    return naive_combine(s, u, naive_topk(top1_disabled ? without_largest(p) : p, 2, true));
  };
  auto cartesian = [&](bool second_disabled) {
    return [&, second_disabled](int64_t t, const torch::Tensor& u) {
      auto m1 = sub_layer(*first.sub1, u, true);
      auto x1 = hf[t] + m1;
      auto u2 = x1 / std::sqrt(x1.pow(2).mean().item<double>() + 1e-6) * first.mid_norm;
      return m1 + sub_layer(*first.sub2, u2, second_disabled);
    };
  };
  expect_rows(first.forward_stream(h, in.x, in.ctx), in, cartesian(false));

  // The same weights with both sub-layers' top-1 disabled (the default): the paper's test.
  CartesianMoeImpl each(o);
  {
    torch::NoGradGuard no_grad;
    auto src = first.named_parameters();
    for (auto& p : each.named_parameters()) p.value().copy_(src[p.key()]);
  }
  each.eval();
  expect_rows(each.forward_stream(h, in.x, in.ctx), in, cartesian(true));
}

DsMoeOptions partition_options() {
  DsMoeOptions o;
  o.d_model = 6;
  o.hidden = 16;
  o.n = 4;
  return o;
}

// Block i of the dense FFN on one token, from the dense weights: (C) -> (C).
torch::Tensor block_row(const DsMoeImpl& b, int64_t i, const torch::Tensor& u) {
  const int64_t h = b.opt.hidden / b.opt.n;
  return swiglu_row(u, b.w1->weight.narrow(0, i * h, h).t(), b.w3->weight.narrow(0, i * h, h).t(),
                    b.w2->weight.narrow(1, i * h, h).t());
}

TEST_F(MoeTest, DsMoeWithoutStraightThroughTrainsOnlyTheOpenGates) {
  auto o = partition_options();
  o.ste = false;
  DsMoeImpl b(o);
  scale_params(b, 20);
  auto u = torch::randn({7, 6});
  b.train();
  auto y = b.forward(u, {});
  // Reference: h = n / #open * sum_i o_i G(g_i) by autograd on the weights themselves.
  auto ref = torch::zeros({7, 6});
  for (int64_t t = 0; t < 7; ++t) {
    auto g = torch::sigmoid(b.gate->weight.matmul(u[t]));
    auto open = g.gt(0.5);
    const double n_open = std::max(open.sum().item<double>(), 1.0);
    auto row = torch::zeros({6});
    for (int64_t i = 0; i < 4; ++i)
      if (open[i].item<bool>()) row = row + g[i] * block_row(b, i, u[t]);
    ref.index_put_({t}, row * (4.0 / n_open));
  }
  ASSERT_TRUE(torch::allclose(y, ref, 1e-5, 1e-5));  // the gates run in fp32
  auto w = torch::randn({7, 6});
  auto grad_of = [&](const torch::Tensor& out) {
    return torch::autograd::grad({(out * w).sum()}, {b.gate->weight}, {}, /*retain_graph=*/true)[0];
  };
  EXPECT_TRUE(torch::allclose(grad_of(y), grad_of(ref), 1e-4, 1e-5));

  // With the STE the gates under tau get a gradient too, so the two differ.
  o.ste = true;
  DsMoeImpl with_ste(o);
  {
    torch::NoGradGuard no_grad;
    auto src = b.named_parameters();
    for (auto& p : with_ste.named_parameters()) p.value().copy_(src[p.key()]);
  }
  with_ste.train();
  auto y_ste = with_ste.forward(u, {});
  EXPECT_TRUE(torch::allclose(y_ste, y, 1e-12, 1e-12));  // same forward value
  auto g_ste = torch::autograd::grad({(y_ste * w).sum()}, {with_ste.gate->weight})[0];
  EXPECT_FALSE(torch::allclose(g_ste, grad_of(y), 1e-2, 1e-3));
}

TEST_F(MoeTest, DsMoeTopKBaselineEqualsReference) {
  auto o = partition_options();
  o.topk_router = true;
  o.top_k = 2;
  o.balance_coef = 0.5;
  DsMoeImpl b(o);
  scale_params(b, 20);
  auto in = batch(6);
  auto ref = [&](int64_t, const torch::Tensor& u) {
    auto picks = naive_topk(softmax(to_vector(b.gate->weight.matmul(u))), 2, /*renormalize=*/true);
    auto y = torch::zeros({6});
    for (const auto& [i, w] : picks) y = y + 4.0 * w * block_row(b, i, u);  // scale s = n
    return y;
  };
  for (bool training : {true, false}) {
    b.train(training);
    expect_rows(b.forward(in.x, in.ctx), in, ref, 1e-5);
    auto s = b.stats();
    EXPECT_DOUBLE_EQ(s["active_share"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(s["experts_per_token"].get<double>(), 2.0);
  }
  // aux = coef * n * sum_i f_i P_i over the batch's tokens.
  auto u = in.x.reshape({kTokens, 6});
  std::vector<double> f(4, 0.0), P(4, 0.0);
  for (int64_t t = 0; t < kTokens; ++t) {
    auto p = softmax(to_vector(b.gate->weight.matmul(u[t])));
    for (const auto& [i, w] : naive_topk(p, 2, true)) f[i] += 1.0 / (2.0 * kTokens);
    for (int64_t i = 0; i < 4; ++i) P[i] += p[i] / kTokens;
  }
  double aux = 0;
  for (int64_t i = 0; i < 4; ++i) aux += f[i] * P[i];
  EXPECT_NEAR(b.aux_loss().item<double>(), 0.5 * 4.0 * aux, 1e-6);
  EXPECT_EQ(b.active_params(), 3 * 6 * 16 / 4 * 2 + 4 * 6);
}

// The top-k baseline keeps the dense FFN's parameter names and shapes, so a dense checkpoint
// loads into it (train.init_from) with only the router new, as into DSMoE.
TEST(MoeBaselines, TopKPartitionTakesTheDenseFfnsWeights) {
  ModelConfig cfg;
  cfg.arch = "llama";
  cfg.d_model = 16;
  cfg.ffn.hidden = 64;
  cfg.ffn.dsmoe_n = 4;
  cfg.ffn.dsmoe_router = "topk";
  cfg.ffn.top_k = 3;
  auto dense = FfnRegistry::instance().make("dense", cfg, 0);
  auto topk = FfnRegistry::instance().make("dsmoe", cfg, 0);
  std::set<std::string> extra;
  auto dense_params = dense->named_parameters();
  for (const auto& p : topk->named_parameters()) {
    if (const auto* d = dense_params.find(p.key()))
      EXPECT_EQ(d->sizes(), p.value().sizes()) << p.key();
    else
      extra.insert(p.key());
  }
  EXPECT_EQ(extra, std::set<std::string>{"gate.weight"});
  EXPECT_EQ(topk->named_parameters().size(), dense_params.size() + 1);

  cfg.ffn.top_k = 5;  // more than the 4 blocks
  EXPECT_THROW(FfnRegistry::instance().make("dsmoe", cfg, 0), UserError);
}

}  // namespace
}  // namespace lmlab::model::moe
