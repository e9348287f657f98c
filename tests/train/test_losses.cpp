// CE, MiLe and focal losses against a naive double-precision reference written with explicit
// loops (own softmax, own entropy, own analytic gradient), including ignored positions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/train/losses.h"

namespace lmlab::train {
namespace {

using Matrix = std::vector<std::vector<double>>;

// What the official MiLeLoss / FocalLoss compute, position by position, plus dLoss/dlogits.
struct Reference {
  double loss = 0;
  Matrix grad;
  std::vector<double> weight;  // alpha * w_j
};

Reference reference_loss(const std::string& type, double gamma, const Matrix& z, const std::vector<int64_t>& y,
                         double other_rank_alpha = -1) {
  const size_t n = z.size(), v = z[0].size();
  std::vector<double> ce(n, 0.0), w(n, 0.0);
  Matrix p(n, std::vector<double>(v));
  for (size_t j = 0; j < n; ++j) {
    double mx = z[j][0];
    for (double x : z[j]) mx = std::max(mx, x);
    double sum = 0;
    for (size_t k = 0; k < v; ++k) sum += std::exp(z[j][k] - mx);
    for (size_t k = 0; k < v; ++k) p[j][k] = std::exp(z[j][k] - mx) / sum;
    if (y[j] != kIgnoreIndex) ce[j] = -std::log(p[j][y[j]]);
    if (type == "mile") {
      double h = 0;
      for (size_t k = 0; k < v; ++k) {
        double q = std::min(1.0, std::max(1e-8, p[j][k]));
        h -= q * std::log(q);
      }
      w[j] = std::pow(1.0 + h, gamma);
    } else {
      w[j] = std::pow(1.0 - std::exp(-ce[j]), gamma);
    }
  }
  double mean_w = 0;
  for (double x : w) mean_w += x / n;
  double alpha = 1.0 / mean_w;
  if (other_rank_alpha > 0) alpha = (alpha + other_rank_alpha) / 2;
  Reference r;
  r.grad.assign(n, std::vector<double>(v, 0.0));
  for (size_t j = 0; j < n; ++j) {
    r.weight.push_back(alpha * w[j]);
    r.loss += alpha * w[j] * ce[j] / n;
    if (y[j] == kIgnoreIndex) continue;
    for (size_t k = 0; k < v; ++k) {
      r.grad[j][k] = alpha * w[j] / n * (p[j][k] - (static_cast<int64_t>(k) == y[j] ? 1.0 : 0.0));
    }
  }
  return r;
}

struct Batch {
  Matrix z;
  std::vector<int64_t> y;
  torch::Tensor logits, targets;
};

// Seeded logits with a wide spread so some rows are confident (entropy near 0) and some flat.
Batch make_batch(int64_t n, int64_t v, std::vector<int64_t> ignored) {
  torch::manual_seed(7);
  auto scale = torch::linspace(0.1, 6.0, n).unsqueeze(1);
  auto logits = (torch::randn({n, v}) * scale).to(torch::kFloat32);
  auto targets = torch::randint(0, v, {n}, torch::kInt64);
  for (int64_t j : ignored) targets[j] = kIgnoreIndex;
  Batch b;
  b.logits = logits;
  b.targets = targets;
  auto logits64 = logits.to(torch::kFloat64);
  auto acc = logits64.accessor<double, 2>();
  for (int64_t j = 0; j < n; ++j) {
    b.z.emplace_back();
    for (int64_t k = 0; k < v; ++k) b.z.back().push_back(acc[j][k]);
    b.y.push_back(targets[j].item<int64_t>());
  }
  return b;
}

LossConfig config(const std::string& type, double gamma, int64_t chunk = 1024) {
  LossConfig c;
  c.type = type;
  c.gamma = gamma;
  c.entropy_chunk = chunk;
  return c;
}

// Loss value and gradient of lm_loss on a fresh leaf copy of the logits.
std::pair<double, torch::Tensor> run(const LossConfig& cfg, const Batch& b, const RankMean& rank_mean = nullptr) {
  auto logits = b.logits.clone().requires_grad_(true);
  auto loss = lm_loss(cfg, logits, b.targets, rank_mean);
  loss.backward();
  return {loss.item<double>(), logits.grad().to(torch::kFloat64)};
}

void expect_matches(const Reference& ref, double loss, const torch::Tensor& grad) {
  EXPECT_NEAR(loss, ref.loss, 1e-5 * std::max(1.0, std::abs(ref.loss)));
  auto g = grad.accessor<double, 2>();
  for (size_t j = 0; j < ref.grad.size(); ++j) {
    for (size_t k = 0; k < ref.grad[j].size(); ++k) {
      ASSERT_NEAR(g[j][k], ref.grad[j][k], 1e-6) << "row " << j << " col " << k;
    }
  }
}

TEST(Losses, MileMatchesNaiveReferenceWithIgnoredPositions) {
  auto b = make_batch(12, 37, {0, 5, 11});
  for (double gamma : {0.5, 1.0, 2.0}) {
    auto [loss, grad] = run(config("mile", gamma), b);
    expect_matches(reference_loss("mile", gamma, b.z, b.y), loss, grad);
  }
}

TEST(Losses, FocalMatchesNaiveReferenceWithIgnoredPositions) {
  auto b = make_batch(12, 37, {2, 3});
  for (double gamma : {1.0, 2.0}) {
    auto [loss, grad] = run(config("focal", gamma), b);
    expect_matches(reference_loss("focal", gamma, b.z, b.y), loss, grad);
  }
}

TEST(Losses, CeIsMeanOverNonIgnoredPositions) {
  auto b = make_batch(10, 23, {1, 4});
  auto [loss, grad] = run(config("ce", 1.0), b);
  // gamma = 0 gives w = 1 and alpha = 1: the reference's sum over all N, rescaled to the 8 kept.
  auto all_positions = reference_loss("mile", 0.0, b.z, b.y);
  EXPECT_NEAR(loss, all_positions.loss * 10 / 8, 1e-5);
  for (auto& row : all_positions.grad)
    for (double& g : row) g *= 10.0 / 8.0;
  expect_matches(Reference{all_positions.loss * 10 / 8, all_positions.grad, {}}, loss, grad);
}

TEST(Losses, MileWithGammaZeroEqualsCeWhenNothingIsIgnored) {
  auto b = make_batch(9, 19, {});
  auto [ce_loss, ce_grad] = run(config("ce", 1.0), b);
  auto [mile_loss, mile_grad] = run(config("mile", 0.0), b);
  EXPECT_NEAR(mile_loss, ce_loss, 1e-6);
  EXPECT_TRUE(torch::allclose(mile_grad, ce_grad, 1e-6, 1e-8));
}

TEST(Losses, MileDenominatorCountsIgnoredPositionsUnlikeCe) {
  auto b = make_batch(8, 11, {0, 1, 2, 3});
  double ce_loss = run(config("ce", 1.0), b).first;
  double mile_loss = run(config("mile", 0.0), b).first;
  EXPECT_NEAR(mile_loss, ce_loss * 4 / 8, 1e-6);  // half the positions are ignored
}

TEST(Losses, AlphaNormalisesTheWeightsToMeanOne) {
  auto b = make_batch(16, 29, {3, 7});
  for (const char* type : {"mile", "focal"}) {
    auto cfg = config(type, 1.5);
    auto ce = torch::nn::functional::cross_entropy(
        b.logits, b.targets,
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kNone));
    auto weights = position_weights(cfg, b.logits, ce);
    EXPECT_NEAR(weights.mean().item<double>(), 1.0, 1e-6) << type;
    EXPECT_FALSE(weights.requires_grad());
    auto ref = reference_loss(type, 1.5, b.z, b.y);
    for (int64_t j = 0; j < 16; ++j) EXPECT_NEAR(weights[j].item<double>(), ref.weight[j], 1e-5) << type << " " << j;
  }
}

TEST(Losses, AlphaIsAveragedAcrossRanks) {
  auto b = make_batch(10, 13, {4});
  const double other_alpha = 0.25;  // what a second rank's 1/mean(w) would be
  RankMean two_ranks = [&](const torch::Tensor& alpha) { return (alpha + other_alpha) / 2; };
  auto [loss, grad] = run(config("mile", 1.0), b, two_ranks);
  expect_matches(reference_loss("mile", 1.0, b.z, b.y, other_alpha), loss, grad);
}

TEST(Losses, ChunkedEntropyEqualsUnchunked) {
  auto b = make_batch(11, 41, {2});
  auto whole = token_entropy(b.logits, 0);
  for (int64_t chunk : {1, 3, 4, 11, 100}) {
    EXPECT_TRUE(torch::equal(token_entropy(b.logits, chunk), whole)) << chunk;
    auto [loss, grad] = run(config("mile", 1.0, chunk), b);
    auto [loss0, grad0] = run(config("mile", 1.0, 0), b);
    EXPECT_EQ(loss, loss0);
    EXPECT_TRUE(torch::equal(grad, grad0));
  }
}

TEST(Losses, EntropyUsesTheClampAndNats) {
  // One certain row: softmax gives ~1 and ~0s; the clamp lifts each 0 to 1e-8, so
  // H = -(1 ln 1 + (V-1) 1e-8 ln 1e-8) = (V-1) * 1e-8 * 18.42..., not 0.
  // A flat row over V classes has H = ln V (not 1: nats, not normalised).
  const int64_t v = 1000;
  auto logits = torch::zeros({2, v});
  logits[0][0] = 100.0;
  auto h = token_entropy(logits, 0);
  EXPECT_NEAR(h[0].item<double>(), (v - 1) * 1e-8 * -std::log(1e-8), 1e-6);
  EXPECT_NEAR(h[1].item<double>(), std::log(static_cast<double>(v)), 1e-4);
}

TEST(Losses, FocalOnAFullyIgnoredBatchIsZeroNotNan) {
  auto b = make_batch(4, 7, {0, 1, 2, 3});
  auto [loss, grad] = run(config("focal", 2.0), b);
  EXPECT_EQ(loss, 0.0);
  EXPECT_EQ(grad.abs().sum().item<double>(), 0.0);
}

TEST(Losses, BadTypeOrGammaIsAUserError) {
  auto b = make_batch(3, 5, {});
  EXPECT_THROW(lm_loss(config("mle", 1.0), b.logits, b.targets), UserError);
  EXPECT_THROW(lm_loss(config("mile", -1.0), b.logits, b.targets), UserError);
  try {
    lm_loss(config("focl", 1.0), b.logits, b.targets);
    FAIL() << "no error for an unknown type";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'focal'"), std::string::npos) << e.what();
  }
}

// Every name the config offers is a loss lm_loss computes (the list is the dispatch's own).
TEST(Losses, EveryListedTypeIsComputed) {
  auto b = make_batch(3, 5, {});
  for (const std::string& type : loss_type_names())
    EXPECT_TRUE(std::isfinite(lm_loss(config(type, 1.0), b.logits, b.targets).item<double>())) << type;
}

// What metrics.jsonl logs as "ce": the plain cross-entropy over the non-ignored positions,
// whatever the training loss, computed here from the logits in double.
TEST(Losses, PartsGiveThePlainCrossEntropyNextToEveryLoss) {
  auto b = make_batch(12, 17, {2, 5});
  double ce = 0;
  int kept = 0;
  for (size_t j = 0; j < b.z.size(); ++j) {
    if (b.y[j] == kIgnoreIndex) continue;
    double mx = *std::max_element(b.z[j].begin(), b.z[j].end()), sum = 0;
    for (double x : b.z[j]) sum += std::exp(x - mx);
    ce += std::log(sum) + mx - b.z[j][static_cast<size_t>(b.y[j])];
    ++kept;
  }
  ce /= kept;
  for (const char* type : {"ce", "mile", "focal"}) {
    auto cfg = config(type, 2.0);
    LmLossParts parts = lm_loss_parts(cfg, b.logits, b.targets);
    EXPECT_NEAR(parts.ce.item<double>(), ce, 1e-5) << type;
    EXPECT_FALSE(parts.ce.requires_grad()) << type;
    EXPECT_NEAR(parts.loss.item<double>(), lm_loss(cfg, b.logits, b.targets).item<double>(), 1e-7) << type;
    if (std::string(type) != "ce") {
      EXPECT_GT(std::abs(parts.loss.item<double>() - ce), 1e-3) << type;  // the weighted loss is another number
    }
  }
}

}  // namespace
}  // namespace lmlab::train
