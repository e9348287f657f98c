// softmax_cross_entropy (the CPU's CE, softmax_ce.h) against libtorch's cross_entropy in fp64:
// value and gradient with ignored rows, an underflowing target probability, a scaled upstream
// gradient, all rows ignored, and a second backward refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmlab/train/losses.h"
#include "lmlab/train/softmax_ce.h"

namespace lmlab::train {
namespace {

namespace F = torch::nn::functional;

struct LossAndGrad {
  torch::Tensor loss, grad;
};

// libtorch's CE of the same fp32 values, computed in fp64.
LossAndGrad reference(const torch::Tensor& logits, const torch::Tensor& targets, double upstream = 1.0) {
  torch::Tensor z = logits.detach().to(torch::kFloat64).requires_grad_();
  torch::Tensor loss = F::cross_entropy(z, targets, F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex));
  (loss * upstream).backward();
  return {loss.detach(), z.grad()};
}

LossAndGrad ours(const torch::Tensor& logits, const torch::Tensor& targets, double upstream = 1.0) {
  torch::Tensor z = logits.detach().clone().requires_grad_();
  torch::Tensor loss = softmax_cross_entropy(z, targets);
  EXPECT_EQ(loss.scalar_type(), torch::kFloat32);
  EXPECT_EQ(loss.dim(), 0);
  (loss * upstream).backward();
  return {loss.detach(), z.grad()};
}

void expect_close(const LossAndGrad& got, const LossAndGrad& want, double tol) {
  EXPECT_NEAR(got.loss.item<double>(), want.loss.item<double>(), tol * std::max(1.0, std::fabs(want.loss.item<double>())));
  const double err = (got.grad.to(torch::kFloat64) - want.grad).abs().max().item<double>();
  EXPECT_LT(err, tol) << "largest gradient difference " << err;
}

TEST(SoftmaxCrossEntropy, MatchesLibtorchWithIgnoredRows) {
  torch::manual_seed(11);
  const int64_t n = 67, v = 300;
  torch::Tensor logits = torch::randn({n, v}) * torch::linspace(0.1, 8.0, n).unsqueeze(1);  // flat to sharp rows
  torch::Tensor targets = torch::randint(0, v, {n}, torch::kInt64);
  expect_close(ours(logits, targets), reference(logits, targets), 2e-6);
  for (int64_t j : {0, 5, 66}) targets[j] = kIgnoreIndex;
  LossAndGrad got = ours(logits, targets, 2.5);
  expect_close(got, reference(logits, targets, 2.5), 2e-6);
  EXPECT_EQ(got.grad[5].abs().max().item<float>(), 0.0f);  // nothing flows into an ignored row
}

TEST(SoftmaxCrossEntropy, AnUnderflowingTargetProbabilityStaysExact) {
  // Row 0: the target's logit 150 below the others, p[target] = e^-150 / 10 (0 in fp32).
  torch::Tensor logits = torch::zeros({3, 10});
  logits[0][4] = -150.0f;
  logits[1][2] = 30.0f;
  torch::Tensor targets = torch::tensor({4, 2, 7}, torch::kInt64);
  LossAndGrad got = ours(logits, targets), want = reference(logits, targets);
  EXPECT_TRUE(std::isfinite(got.loss.item<double>()));
  expect_close(got, want, 1e-5);
}

TEST(SoftmaxCrossEntropy, EveryRowIgnoredIsNanAsInLibtorch) {
  torch::Tensor logits = torch::randn({4, 6});
  torch::Tensor targets = torch::full({4}, kIgnoreIndex, torch::kInt64);
  EXPECT_TRUE(std::isnan(softmax_cross_entropy(logits, targets).item<double>()));
  EXPECT_TRUE(std::isnan(F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex))
                             .item<double>()));
}

TEST(SoftmaxCrossEntropy, ASecondBackwardThroughTheSameGraphIsRefused) {
  torch::Tensor z = torch::randn({5, 7}).requires_grad_();
  torch::Tensor loss = softmax_cross_entropy(z, torch::randint(0, 7, {5}, torch::kInt64));
  loss.backward({}, /*retain_graph=*/true);
  EXPECT_THROW(loss.backward(), c10::Error);  // the saved softmax became the first gradient
}

TEST(SoftmaxCrossEntropy, LmLossUsesItOnTheCpuAndOnlyForFp32) {
  torch::manual_seed(2);
  torch::Tensor logits = torch::randn({20, 33});
  torch::Tensor targets = torch::randint(0, 33, {20}, torch::kInt64);
  EXPECT_TRUE(softmax_cross_entropy_applies(logits));
  EXPECT_FALSE(softmax_cross_entropy_applies(logits.to(torch::kFloat64)));
  EXPECT_FALSE(softmax_cross_entropy_applies(logits.to(torch::kBFloat16)));
  LossConfig ce;
  LmLossParts parts = lm_loss_parts(ce, logits, targets, {});
  EXPECT_NEAR(parts.loss.item<double>(), reference(logits, targets).loss.item<double>(), 1e-6);
  EXPECT_EQ(parts.ce.item<double>(), parts.loss.item<double>());
}

}  // namespace
}  // namespace lmlab::train
