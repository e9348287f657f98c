// Every MoE variant against a naive one-token-at-a-time reference, plus the invariants the
// papers state: parameter counts, DSMoE's exact partition and STE gradients, MaskMoE's single
// expert for infrequent tokens, a hand-computed CartesianMoE case, and the equal-parameter
// configs of the CartesianMoE comparison.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/model/moe/cartesian_moe.h"
#include "lmlab/model/moe/dsmoe.h"
#include "lmlab/model/moe/factory.h"
#include "lmlab/model/moe/finedeep.h"
#include "lmlab/model/moe/hash_moe.h"
#include "lmlab/model/moe/mask_moe.h"
#include "lmlab/model/moe/topp_moe.h"
#include "lmlab/train/experiment.h"
#include "moe_test_util.h"

namespace lmlab::model::moe {
namespace {

using namespace testing;

TEST_F(MoeTest, TopKMoeWithSharedSumEqualsReference) {
  for (int64_t k : {1, 2}) {
    RoutedMoeImpl b(small_options(5, k, /*n_shared=*/2, "sum"));
    scale_params(b, 20);
    auto in = batch(8);
    auto y = b.forward(in.x, in.ctx);
    expect_rows(y, in, [&](int64_t, const torch::Tensor& u) {
      return naive_combine(b, u, naive_topk(naive_probs(b, u), k, /*renormalize=*/true));
    });
    EXPECT_EQ(b.stats()["load"].size(), 5u);
    EXPECT_TRUE(b.aux_loss().defined());
  }
}

TEST_F(MoeTest, CoefficientSharedAndRawWeightsEqualReference) {
  auto o = small_options(6, 3, 1, "coefficient");
  o.renormalize = false;  // DeepSeekMoE: raw softmax weights
  RoutedMoeImpl b(o);
  scale_params(b, 20);
  auto in = batch(8);
  auto y = b.forward(in.x, in.ctx);
  expect_rows(y, in, [&](int64_t, const torch::Tensor& u) {
    return naive_combine(b, u, naive_topk(naive_probs(b, u), 3, false));
  });
}

TEST_F(MoeTest, DisableTop1AtEvalOnly) {
  auto o = small_options(4, 1);
  o.disable_top1 = true;
  RoutedMoeImpl b(o);
  scale_params(b, 20);
  auto in = batch(8);
  b.eval();
  auto y = b.forward(in.x, in.ctx);
  expect_rows(y, in, [&](int64_t, const torch::Tensor& u) {
    auto p = naive_probs(b, u);
    auto second = order_desc(p)[1];
    return naive_combine(b, u, {{second, p[second]}});
  });
  b.train();
  auto y_train = b.forward(in.x, in.ctx);
  expect_rows(y_train, in, [&](int64_t, const torch::Tensor& u) {
    return naive_combine(b, u, naive_topk(naive_probs(b, u), 1, false));
  });
}

// A dropped assignment contributes nothing: the output equals the reference over the kept
// assignments only, with their weights renormalised when capacity_renormalize is set. At eval
// the layer is dropless unless capacity_at_eval.
TEST_F(MoeTest, CapacityDropsAreCountedAndZeroed) {
  for (bool renormalize : {false, true}) {
    auto o = small_options(4, 2);
    o.capacity_factor = 0.5;  // capacity = ceil(0.5 * 10 * 2 / 4) = 3 of 20 assignments per expert
    o.capacity_renormalize = renormalize;
    RoutedMoeImpl b(o);
    scale_params(b, 20);
    auto in = batch(8);
    b.train();
    auto y = b.forward(in.x, in.ctx);
    EXPECT_GE(b.stats()["dropped"].get<int64_t>(), 20 - 4 * 3);
    auto u = in.x.reshape({kTokens, -1});
    Routing kept = route_topk(b.router_probs(u), 2, /*renormalize=*/true, false);
    apply_capacity(kept, 4, expert_capacity(0.5, kTokens, 2, 4));
    int64_t tokens_with_a_drop = 0;
    expect_rows(y, in, [&](int64_t t, const torch::Tensor& u_t) {
      Picks picks;
      double sum = 0;
      for (int64_t j = 0; j < 2; ++j)
        if (kept.experts[t][j].item<int64_t>() >= 0)
          picks.push_back({kept.experts[t][j].item<int64_t>(), kept.weights[t][j].item<double>()}),
              sum += kept.weights[t][j].item<double>();
      if (picks.size() < 2) ++tokens_with_a_drop;
      if (renormalize && sum > 0)
        for (auto& [e, w] : picks) w /= sum;
      return naive_combine(b, u_t, picks);
    });
    EXPECT_GT(tokens_with_a_drop, 0);
    b.eval();
    b.forward(in.x, in.ctx);
    EXPECT_EQ(b.stats()["dropped"].get<int64_t>(), 0) << "dropless at eval by default";
    b.opt.capacity_at_eval = true;
    b.forward(in.x, in.ctx);
    EXPECT_GE(b.stats()["dropped"].get<int64_t>(), 20 - 4 * 3);
  }
}

TEST_F(MoeTest, HashMoeUsesTheFixedTable) {
  HashMoeImpl b(small_options(6, 2, 1, "coefficient"), kVocab, 11);
  scale_params(b, 20);
  EXPECT_FALSE(b.router);
  EXPECT_FALSE(b.aux_loss().defined());
  auto in = batch(8);
  auto y = b.forward(in.x, in.ctx);
  auto ids = in.ctx.token_ids.reshape(-1);
  expect_rows(y, in, [&](int64_t t, const torch::Tensor& u) {
    auto row = b.table[ids[t].item<int64_t>()];
    return naive_combine(b, u, {{row[0].item<int64_t>(), 0.5}, {row[1].item<int64_t>(), 0.5}});
  });
  EXPECT_TRUE(torch::equal(b.table, HashMoeImpl(small_options(6, 2), kVocab, 11).table));
}

TEST_F(MoeTest, TopPMoeEqualsReference) {
  TopPMoeImpl b(small_options(6, 2, 1, "coefficient"), 0.4);
  scale_params(b, 20);
  auto in = batch(8);
  auto y = b.forward(in.x, in.ctx);
  expect_rows(y, in, [&](int64_t, const torch::Tensor& u) {
    auto p = naive_probs(b, u);
    Picks picks;
    double mass = 0;
    for (auto e : order_desc(p)) {
      if (mass > 0.4) break;
      picks.push_back({e, p[e]});
      mass += p[e];
    }
    return naive_combine(b, u, picks);
  });
  EXPECT_GE(b.stats()["experts_per_token"].get<double>(), 1.0);
}

TEST_F(MoeTest, MaskMoeEqualsReferenceAndInfrequentTokensSeeOneExpert) {
  MaskMoeImpl b(small_options(8, 2), kVocab, /*visible=*/4, /*frequent_share=*/0.2, 5);
  scale_params(b, 20);
  auto counts = torch::arange(kVocab, 0, -1).to(torch::kDouble);  // ids 0..5 are the frequent 20%
  b.set_token_frequencies(counts);
  auto finite = torch::isfinite(b.mask).sum(1);
  for (int64_t v = 0; v < kVocab; ++v) EXPECT_EQ(finite[v].item<int64_t>(), v < 6 ? 4 : 1) << v;

  auto in = batch(8);
  auto y = b.forward(in.x, in.ctx);
  auto ids = in.ctx.token_ids.reshape(-1);
  expect_rows(y, in, [&](int64_t t, const torch::Tensor& u) {
    auto z = to_vector(b.router->weight.matmul(u) + b.mask[ids[t].item<int64_t>()]);
    return naive_combine(b, u, naive_topk(softmax(z), 2, true));
  });

  // Whatever the hidden state, an infrequent token always reaches its one expert.
  for (int64_t v : {7, 20, 29}) {
    auto u = torch::randn({40, 8}) * 5;
    FfnContext ctx{torch::full({40}, v, torch::kLong), 0};
    auto r = b.route(u, ctx);
    auto chosen = r.experts.masked_select(r.experts.ge(0));
    EXPECT_EQ(chosen.numel(), 40);
    EXPECT_TRUE(chosen.eq(b.expert_order[v][0]).all().item<bool>()) << v;
  }
  // The mask is a buffer, so checkpoints carry it.
  EXPECT_NE(b.named_buffers().find("routing_mask"), nullptr);
  auto holder = std::make_shared<torch::nn::Module>();
  holder->register_module("ffn", std::make_shared<MaskMoeImpl>(small_options(8, 2), kVocab, 4, 0.2, 5));
  EXPECT_EQ(set_token_frequencies(*holder, counts), 1);
}

// CartesianMoE on a case small enough to compute by hand: C = 2, two experts per sub-layer of
// width 1, top-1, no shared expert.
TEST_F(MoeTest, CartesianMoeHandComputedCase) {
  auto o = small_options(2, 1);
  o.d_model = 2;
  o.expert_hidden = 1;
  o.balance_coef = 0;
  CartesianMoeImpl b(o);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : b.parameters()) p.zero_();
    b.mid_norm.fill_(1.0);
    // Sub-layer 1: router logits (u_0, 0); expert 0: silu(u_0) * 2 u_0 -> (a, a).
    b.sub1->router->weight[0][0] = 1.0;
    b.sub1->experts->w_gate[0][0][0] = 1.0;
    b.sub1->experts->w_up[0][0][0] = 2.0;
    b.sub1->experts->w_down[0][0] = torch::tensor({1.0, 1.0});
    // Sub-layer 2: router logits (0, u_0); expert 1: silu(u_0) * (u_0 + u_1) -> (a, -a).
    b.sub2->router->weight[1][0] = 1.0;
    b.sub2->experts->w_gate[1][0][0] = 1.0;
    b.sub2->experts->w_up[1][0][0] = 1.0;
    b.sub2->experts->w_up[1][1][0] = 1.0;
    b.sub2->experts->w_down[1][0] = torch::tensor({1.0, -1.0});
  }
  auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  auto silu = [&](double z) { return z * sigmoid(z); };
  // h = (2, 0), u1 = RMSNorm(h) = (sqrt 2, 0) with unit weight.
  const double h0 = 2.0, u0 = std::sqrt(2.0);
  double p1 = sigmoid(u0);                   // softmax(u0, 0)[0]
  double a1 = silu(u0) * 2.0 * u0;
  double m1 = p1 * a1;                        // both coordinates
  double x0 = h0 + m1, x1 = m1;               // x1 = h + m1
  double rms = std::sqrt((x0 * x0 + x1 * x1) / 2.0 + 1e-6);
  double v0 = x0 / rms, v1 = x1 / rms;        // u2
  double p2 = sigmoid(v0);                    // softmax(0, v0)[1]
  double a2 = silu(v0) * (v0 + v1);
  auto expected = torch::tensor({m1 + p2 * a2, m1 - p2 * a2}).view({1, 1, 2});
  auto h = torch::tensor({h0, 0.0}).view({1, 1, 2});
  auto u1 = torch::tensor({u0, 0.0}).view({1, 1, 2});
  FfnContext ctx{torch::zeros({1, 1}, torch::kLong), 0};
  auto y = b.forward_stream(h, u1, ctx);
  EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-6)) << y << expected;
}

TEST_F(MoeTest, CartesianMoeEqualsTwoSequentialReferenceSubLayers) {
  CartesianMoeImpl b(small_options(4, 2, 1, "coefficient"));
  scale_params(b, 10);
  auto in = batch(8);
  auto h = torch::randn_like(in.x);
  auto y = b.forward_stream(h, in.x, in.ctx);
  auto hf = h.reshape({kTokens, 8});
  expect_rows(y, in, [&](int64_t t, const torch::Tensor& u) {
    auto m1 = naive_combine(*b.sub1, u, naive_topk(naive_probs(*b.sub1, u), 2, true));
    auto x1 = hf[t] + m1;
    auto u2 = x1 / std::sqrt(x1.pow(2).mean().item<double>() + 1e-6) * b.mid_norm;
    return m1 + naive_combine(*b.sub2, u2, naive_topk(naive_probs(*b.sub2, u2), 2, true));
  });
  EXPECT_EQ(b.active_params(), 2 * (2 * 3 * 8 * 12 + 4 * 8 + 3 * 8 * 12 + 2 * 8 + 2) + 8);
}

DsMoeOptions ds_options() {
  DsMoeOptions o;
  o.d_model = 6;
  o.hidden = 16;
  o.n = 4;
  return o;
}

TEST_F(MoeTest, DsMoeExpertsSumToTheDenseFfn) {
  DsMoeImpl b(ds_options());
  scale_params(b, 20);
  auto u = torch::randn({9, 6});
  auto dense = torch::linear(torch::silu(torch::linear(u, b.w1->weight)) * torch::linear(u, b.w3->weight), b.w2->weight);
  EXPECT_TRUE(torch::allclose(b.expert_outputs(u).sum(1), dense, 1e-12, 1e-12));
}

TEST_F(MoeTest, DsMoeEqualsReferenceInTrainAndEval) {
  DsMoeImpl b(ds_options());
  scale_params(b, 20);
  auto in = batch(6);
  auto ref = [&](int64_t, const torch::Tensor& u) {
    auto g = torch::sigmoid(b.gate->weight.matmul(u));
    auto o = b.expert_outputs(u.view({1, 6}))[0];  // (n, C), exact partition tested above
    auto y = torch::zeros({6});
    int64_t active = 0;
    for (int64_t i = 0; i < 4; ++i)
      if (g[i].item<double>() > 0.5) {
        y = y + g[i].item<double>() * o[i];
        ++active;
      }
    return y * (4.0 / std::max<int64_t>(active, 1));
  };
  b.train();
  expect_rows(b.forward(in.x, in.ctx), in, ref, 1e-5);
  b.eval();
  expect_rows(b.forward(in.x, in.ctx), in, ref, 1e-5);
  EXPECT_GT(b.stats()["active_share"].get<double>(), 0.0);
}

TEST_F(MoeTest, DsMoeStraightThroughGradients) {
  DsMoeImpl b(ds_options());
  {
    torch::NoGradGuard no_grad;
    b.gate->weight.copy_(torch::tensor({1.0, -1.0, 1.0, -1.0}).view({4, 1}).expand({4, 6}));
  }
  auto u = torch::rand({5, 6}) + 0.1;  // positive: experts 0, 2 open (g > 0.5), 1, 3 closed
  b.train();
  auto y = b.forward(u, {});
  (y.pow(2).sum() + b.aux_loss()).backward();
  const int64_t h = 4;
  for (int64_t i = 0; i < 4; ++i) {
    bool open = i % 2 == 0;
    auto g1 = b.w1->weight.grad().narrow(0, i * h, h), g2 = b.w2->weight.grad().narrow(1, i * h, h);
    EXPECT_EQ(g1.abs().sum().item<double>() > 0, open) << "expert " << i;
    EXPECT_EQ(g2.abs().sum().item<double>() > 0, open) << "expert " << i;
    EXPECT_GT(b.gate->weight.grad()[i].abs().sum().item<double>(), 0) << "gate " << i;
  }
  // Sparsity loss: 1/(L n) * mean_t sum_i G(g_i) with L = 1, n = 4.
  auto g = torch::sigmoid(torch::linear(u, b.gate->weight));
  auto expected = (g * g.gt(0.5)).sum(1).mean() / 4.0;
  EXPECT_NEAR(b.aux_loss().item<double>(), expected.item<double>(), 1e-6);
}

TEST_F(MoeTest, FinedeepEqualsReferenceAndMatchesDenseParams) {
  for (bool output_router : {true, false}) {
    FinedeepOptions o;
    o.d_model = 6;
    o.hidden = 24;
    o.m = 2;
    o.k = 3;
    o.output_router = output_router;
    o.normalize = !output_router;
    FinedeepImpl b(o);
    scale_params(b, 10);
    auto in = batch(6);
    auto h = torch::randn_like(in.x);
    auto y = b.forward_stream(h, in.x, in.ctx);
    auto hf = h.reshape({kTokens, 6});
    expect_rows(y, in, [&](int64_t t, const torch::Tensor& u1) {
      auto x = hf[t].clone();
      auto start = x.clone();
      for (int64_t m = 0; m < 2; ++m) {
        auto u = m == 0 ? u1 : x / std::sqrt(x.pow(2).mean().item<double>() + 1e-6) * b.norms[0];
        std::vector<torch::Tensor> e;
        std::vector<double> r;
        double sum = 0;
        for (int64_t k = 0; k < 3; ++k) {
          e.push_back(swiglu_row(u, b.banks[m]->w_gate[k], b.banks[m]->w_up[k], b.banks[m]->w_down[k]));
          double s = output_router ? e.back().dot(b.routers[m][k]).item<double>() : b.routers[m][k].dot(u).item<double>();
          r.push_back(1.0 / (1.0 + std::exp(-s)));
          sum += r.back();
        }
        for (int64_t k = 0; k < 3; ++k) x = x + (o.normalize ? r[k] / sum : r[k]) * e[k];
      }
      return x - start;
    });
    int64_t total = 0;
    for (const auto& p : b.parameters()) total += p.numel();
    EXPECT_EQ(total, 3 * 6 * 24 + 2 * 3 * 6 + 6);  // dense FFN + routers + one extra norm
    EXPECT_EQ(b.active_params(), total);
    double share = b.stats()["near_zero_share"].get<double>();
    EXPECT_GE(share, 0.0);
    EXPECT_LE(share, 1.0);
  }
}

TEST_F(MoeTest, RoutedParameterCounts) {
  RoutedMoeImpl b(small_options(5, 2, 1, "coefficient"));
  int64_t expert = 3 * 8 * 12, total = 0;
  for (const auto& p : b.parameters()) total += p.numel();
  EXPECT_EQ(total, 5 * expert + 5 * 8 + expert + 2 * 8 + 2);
  EXPECT_EQ(b.active_params(), 2 * expert + 5 * 8 + expert + 2 * 8 + 2);
  EXPECT_DOUBLE_EQ(b.flops_per_token(), 2.0 * static_cast<double>(b.active_params()));
}

TEST_F(MoeTest, PlacementKeys) {
  FfnConfig f;
  f.moe_layers = "every";
  f.moe_every = 2;
  EXPECT_TRUE(is_moe_layer(f, 0));
  EXPECT_FALSE(is_moe_layer(f, 1));
  f.moe_layers = "from";
  f.moe_from = 2;
  EXPECT_FALSE(is_moe_layer(f, 1));
  EXPECT_TRUE(is_moe_layer(f, 3));
  ModelConfig cfg;
  cfg.ffn = f;
  cfg.ffn.type = "moe";
  EXPECT_EQ(make_moe_block("moe", cfg, 1), nullptr);
  EXPECT_NE(make_moe_block("moe", cfg, 2), nullptr);
  cfg.ffn.top_k = 99;
  EXPECT_THROW(make_moe_block("moe", cfg, 2), UserError);
}

// configs/moe/*.toml: the MoE variants of the CartesianMoE comparison have equal total and
// active parameters within 1%, counted over the transformer blocks (attention q, k, v, o plus
// FFN); embeddings, the same in every config, would only bring them closer.
TEST_F(MoeTest, ComparisonConfigsHaveEqualTotalAndActiveParams) {
  c10::set_default_dtype(caffe2::TypeMeta::Make<float>());
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::pair<double, double>>> counts;
  for (const auto& entry : fs::directory_iterator(fs::path(LMLAB_SOURCE_DIR) / "configs" / "moe")) {
    if (entry.path().extension() != ".toml") continue;
    Experiment exp;
    config::load(exp, entry.path().string(), {});
    if (exp.model.ffn.type == "dense") continue;
    ModelConfig cfg = exp.model;
    if (cfg.vocab_size == 0) cfg.vocab_size = 1000;
    const double attention = 4.0 * static_cast<double>(cfg.d_model * cfg.d_model);
    double total = attention * static_cast<double>(cfg.n_layer), active = total;
    for (int64_t l = 0; l < cfg.n_layer; ++l) {
      auto block = make_moe_block(cfg.ffn.type, cfg, l);
      if (!block) {
        double dense = 3.0 * static_cast<double>(cfg.d_model * dense_hidden(cfg));
        total += dense;
        active += dense;
        continue;
      }
      for (const auto& p : block->parameters()) total += static_cast<double>(p.numel());
      active += static_cast<double>(block->active_params());
    }
    counts.push_back({entry.path().filename().string(), {total, active}});
    std::printf("%-20s total %.0f active %.0f\n", entry.path().filename().string().c_str(), total, active);
  }
  ASSERT_GE(counts.size(), 7u);
  for (const auto& [name, c] : counts) {
    EXPECT_NEAR(c.first / counts[0].second.first, 1.0, 0.01) << name << " total vs " << counts[0].first;
    EXPECT_NEAR(c.second / counts[0].second.second, 1.0, 0.01) << name << " active vs " << counts[0].first;
  }
}

}  // namespace

// Inside the transformer the inner residual must start from h (ctx.residual), not from u1.
TEST_F(MoeTest, CartesianAndFinedeepTakeTheResidualStreamFromTheContext) {
  CartesianMoeImpl cart(small_options(4, 2, 1, "coefficient"));
  FinedeepOptions o;
  o.d_model = 8;
  o.hidden = 32;
  FinedeepImpl fine(o);
  for (FfnBlockImpl* b : std::vector<FfnBlockImpl*>{&cart, &fine}) {
    auto in = batch(8);
    auto h = torch::randn_like(in.x);
    auto stream = [&](const torch::Tensor& hh, FfnContext c) {
      return b == &cart ? cart.forward_stream(hh, in.x, c) : fine.forward_stream(hh, in.x, c);
    };
    auto without = b->forward(in.x, in.ctx);
    EXPECT_TRUE(torch::equal(without, stream(in.x, in.ctx)));
    FfnContext ctx = in.ctx;
    ctx.residual = h;
    auto with = b->forward(in.x, ctx);
    EXPECT_TRUE(torch::equal(with, stream(h, in.ctx)));
    EXPECT_FALSE(torch::allclose(with, without));
  }
}

}  // namespace lmlab::model::moe
