// Routing primitives: top-k / top-p choices, the balance loss on a known routing, capacity
// drop counting, the seeded tables, and the sorted dispatch against a per-token loop.
#include <gtest/gtest.h>

#include "lmlab/model/moe/dispatch.h"
#include "lmlab/model/moe/moe_common.h"
#include "lmlab/model/moe/router.h"
#include "moe_test_util.h"

namespace lmlab::model::moe {
namespace {

using testing::MoeTest;

TEST_F(MoeTest, TopKPicksTheLargestAndRenormalises) {
  auto probs = torch::tensor({0.1, 0.5, 0.15, 0.25}).view({1, 4});
  auto r = route_topk(probs, 2, /*renormalize=*/true, /*disable_top1=*/false);
  EXPECT_EQ(r.experts[0][0].item<int64_t>(), 1);
  EXPECT_EQ(r.experts[0][1].item<int64_t>(), 3);
  EXPECT_NEAR(r.weights[0][0].item<double>(), 0.5 / 0.75, 1e-12);
  EXPECT_NEAR(r.weights[0][1].item<double>(), 0.25 / 0.75, 1e-12);
  auto raw = route_topk(probs, 1, /*renormalize=*/true, false);  // Switch: top-1 keeps p_i
  EXPECT_NEAR(raw.weights[0][0].item<double>(), 0.5, 1e-12);
  auto no_top1 = route_topk(probs, 2, false, /*disable_top1=*/true);
  EXPECT_EQ(no_top1.experts[0][0].item<int64_t>(), 3);
  EXPECT_EQ(no_top1.experts[0][1].item<int64_t>(), 2);
  EXPECT_NEAR(no_top1.weights[0][0].item<double>(), 0.25, 1e-12);
}

TEST_F(MoeTest, TopKMarksZeroProbabilityExpertsUnused) {
  auto probs = torch::tensor({0.0, 1.0, 0.0}).view({1, 3});
  auto r = route_topk(probs, 2, true, false);
  EXPECT_EQ(r.experts[0][0].item<int64_t>(), 1);
  EXPECT_EQ(r.experts[0][1].item<int64_t>(), -1);
  EXPECT_EQ(r.weights[0][1].item<double>(), 0.0);
}

TEST_F(MoeTest, TopPKeepsTheCrossingExpertWithoutRenormalising) {
  auto probs = torch::tensor({0.3, 0.1, 0.25, 0.35,  //
                              0.5, 0.2, 0.2, 0.1})
                   .view({2, 4});
  auto r = route_topp(probs, 0.4, false);
  // Row 0: sorted 0.35, 0.3 (mass before = 0.35 <= 0.4, kept: it crosses), 0.25 (mass 0.65: no).
  ASSERT_EQ(r.experts.size(1), 2);
  EXPECT_EQ(r.experts[0][0].item<int64_t>(), 3);
  EXPECT_EQ(r.experts[0][1].item<int64_t>(), 0);
  EXPECT_NEAR(r.weights[0][1].item<double>(), 0.3, 1e-12);
  // Row 1: 0.5 alone exceeds 0.4.
  EXPECT_EQ(r.experts[1][0].item<int64_t>(), 0);
  EXPECT_EQ(r.experts[1][1].item<int64_t>(), -1);
  EXPECT_NEAR(r.weights[1][0].item<double>(), 0.5, 1e-12);
}

TEST_F(MoeTest, BalanceLossOnAKnownRouting) {
  auto probs = torch::tensor({0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4}).view({4, 2});
  auto r = route_topk(probs, 1, false, false);  // experts 0, 0, 1, 0
  // f = (3/4, 1/4), P = (0.65, 0.35): N * sum f P = 2 * (0.4875 + 0.0875) = 1.15
  EXPECT_NEAR(balance_loss(r, 2).item<double>(), 1.15, 1e-6);
  // A perfectly uniform router gives 1 whatever the choices.
  auto uniform = route_topk(torch::full({6, 3}, 1.0 / 3), 1, false, false);
  EXPECT_NEAR(balance_loss(uniform, 3).item<double>(), 1.0, 1e-6);
}

TEST_F(MoeTest, CapacityDropsOverflowFirstSlotsFirst) {
  EXPECT_EQ(expert_capacity(1.0, 4, 1, 2), 2);
  EXPECT_EQ(expert_capacity(1.25, 3, 2, 2), 4);
  Routing r{torch::tensor({0, 0, 0, 1}, torch::kLong).view({4, 1}), torch::ones({4, 1}), {}};
  EXPECT_EQ(apply_capacity(r, 2, 2).item<int64_t>(), 1);
  EXPECT_EQ(r.experts[2][0].item<int64_t>(), -1);  // third token of expert 0
  EXPECT_EQ(r.weights[2][0].item<double>(), 0.0);
  // k = 2, capacity 2: queues are filled by first choices before second choices.
  Routing r2{torch::tensor({0, 1, 0, 1, 1, 0}, torch::kLong).view({3, 2}), torch::ones({3, 2}), {}};
  EXPECT_EQ(apply_capacity(r2, 2, 2).item<int64_t>(), 2);
  EXPECT_EQ(r2.experts[2][1].item<int64_t>(), -1);  // expert 0: t0, t1 (first), t2 (second) dropped
  EXPECT_EQ(r2.experts[1][1].item<int64_t>(), -1);  // expert 1: t2 (first), t0 (second), t1 dropped
  EXPECT_EQ(r2.experts[0][1].item<int64_t>(), 1);
  EXPECT_EQ(r2.experts[2][0].item<int64_t>(), 1);
}

TEST_F(MoeTest, SeededExpertOrderIsReproducibleAndDistinct) {
  auto a = seeded_expert_order(50, 8, 4, 7), b = seeded_expert_order(50, 8, 4, 7);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, seeded_expert_order(50, 8, 4, 8)));
  for (int64_t r = 0; r < 50; ++r) EXPECT_EQ(std::get<0>(torch::_unique(a[r])).numel(), 4);
  EXPECT_GE(a.min().item<int64_t>(), 0);
  EXPECT_LT(a.max().item<int64_t>(), 8);
}

TEST_F(MoeTest, DispatchEqualsPerTokenLoop) {
  const int64_t N = 13, C = 6, E = 4, k = 3;
  auto u = torch::randn({N, C});
  auto W = torch::randn({E, C, C});
  auto experts = torch::randint(-1, E, {N, k}, torch::kLong);
  auto weights = torch::rand({N, k}).masked_fill(experts.lt(0), 0.0);
  auto fn = [&](int64_t e, const torch::Tensor& x) { return torch::tanh(x.matmul(W[e])); };
  auto y = dispatch_combine(u, experts, weights, E, fn);
  for (int64_t t = 0; t < N; ++t) {
    auto ref = torch::zeros({C});
    for (int64_t j = 0; j < k; ++j) {
      int64_t e = experts[t][j].item<int64_t>();
      if (e >= 0) ref = ref + weights[t][j].item<double>() * torch::tanh(u[t].matmul(W[e]));
    }
    EXPECT_TRUE(torch::allclose(y[t], ref, 1e-12, 1e-12)) << "token " << t;
  }
  // Bitwise reproducible: the combine writes each slot once.
  EXPECT_TRUE(torch::equal(y, dispatch_combine(u, experts, weights, E, fn)));
}

TEST_F(MoeTest, DispatchGradientsMatchDenseFormulation) {
  const int64_t N = 7, C = 4, E = 3;
  auto u = torch::randn({N, C}, torch::requires_grad());
  auto W = torch::randn({E, C, C});
  auto experts = torch::randint(0, E, {N, 2}, torch::kLong);
  auto weights = torch::rand({N, 2});
  dispatch_combine(u, experts, weights, E, [&](int64_t e, const torch::Tensor& x) { return x.matmul(W[e]); })
      .pow(2).sum().backward();
  auto g = u.grad().clone();
  u.grad().zero_();
  auto dense = (torch::einsum("nc,ecd->end", {u, W}).permute({1, 0, 2}))  // (N, E, C)
                   .gather(1, experts.unsqueeze(-1).expand({N, 2, C}));
  (dense * weights.unsqueeze(-1)).sum(1).pow(2).sum().backward();
  EXPECT_TRUE(torch::allclose(g, u.grad(), 1e-10, 1e-10));
}

// The per-forward slices (ExpertBankImpl::slices) give the output and every weight gradient of
// per-call indexing, with some experts unused (their gradient rows are zero in both).
TEST_F(MoeTest, ExpertSlicesGiveTheSameOutputAndGradientsAsIndexing) {
  ExpertBank bank(6, 4, 8);
  auto x = torch::randn({10, 4});
  auto experts = torch::tensor({0, 2, 2, 0, 4, -1, 0, 4, 2, 2}, torch::kLong).view({10, 1});
  auto weights = torch::rand({10, 1});
  auto run = [&](bool sliced) {
    for (auto& p : bank->parameters()) p.mutable_grad() = torch::Tensor();
    const auto w = bank->slices();
    auto y = dispatch_combine(x, experts, weights, 6, [&](int64_t e, const torch::Tensor& xe) {
      return sliced ? ExpertBankImpl::expert(w, e, xe) : bank->expert(e, xe);
    });
    y.pow(2).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), bank->w_gate.grad().clone(), bank->w_up.grad().clone(),
                                      bank->w_down.grad().clone()};
  };
  auto indexed = run(false), sliced = run(true);
  for (size_t i = 0; i < indexed.size(); ++i) EXPECT_TRUE(torch::allclose(indexed[i], sliced[i], 1e-12, 1e-12)) << i;
  EXPECT_EQ(sliced[1][1].abs().sum().item<double>(), 0.0);  // expert 1 got no tokens
  EXPECT_GT(sliced[1][2].abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace lmlab::model::moe
