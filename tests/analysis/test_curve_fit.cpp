// The curve fitter recovers known parameters from seeded noisy synthetic curves of every law,
// and the trajectory selection picks the form that generated the data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lmlab/analysis/curve_fit.h"
#include "lmlab/analysis/fit_metrics.h"
#include "lmlab/analysis/temporal_scaling.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {
namespace {

std::vector<double> generate(const CurveForm& form, const std::vector<double>& p, const std::vector<double>& x,
                             double noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, noise);
  std::vector<double> y;
  for (double xi : x) y.push_back(form.eval(xi, p) + gauss(rng));
  return y;
}

std::vector<double> range(double first, double last, int n) {
  std::vector<double> x;
  for (int k = 0; k < n; ++k) x.push_back(first + (last - first) * k / (n - 1));
  return x;
}

void expect_recovers(const CurveForm& form, const std::vector<double>& truth, const std::vector<double>& x,
                     double noise, double rel_tol) {
  for (unsigned seed : {1u, 2u, 3u}) {
    CurveFit fit = fit_curve(form, x, generate(form, truth, x, noise, seed));
    ASSERT_TRUE(fit.ok) << form.name;
    for (size_t k = 0; k < truth.size(); ++k) {
      EXPECT_NEAR(fit.params[k], truth[k], rel_tol * std::abs(truth[k])) << form.name << " " << form.params[k];
    }
  }
}

TEST(CurveFit, PositionLawsRecoverTheirParameters) {
  std::vector<double> positions = range(1, 256, 256);
  expect_recovers(position_form("hyperbolic"), {3.0, 0.05, 3.2}, positions, 0.01, 0.05);
  // The same curve in the shifted form: a0/(a1+i)+a2 with a0 = 3/0.05, a1 = 1/0.05.
  expect_recovers(position_form("shifted"), {60.0, 20.0, 3.2}, positions, 0.01, 0.05);
  expect_recovers(position_form("power"), {2.5, 0.6, 3.0}, positions, 0.01, 0.05);
}

TEST(CurveFit, BaselinesRecoverTheirParameters) {
  std::vector<double> t = range(0.05, 1.0, 30);
  expect_recovers(baseline_power_law(), {1.2, 0.5, 2.8}, t, 0.002, 0.05);
  expect_recovers(baseline_exponential(), {2.0, 4.0, 3.1}, t, 0.002, 0.05);
}

TEST(CurveFit, TrajectoryFormsRecoverTheirParameters) {
  std::vector<double> t = range(0.05, 1.0, 30);
  expect_recovers(trajectory_form("power"), {0.8, -0.7, 1.5}, t, 0.001, 0.05);
  expect_recovers(trajectory_form("log"), {2.0, -0.3}, t, 0.001, 0.02);
  expect_recovers(trajectory_form("hyperbolic"), {2.0, 5.0, 1.0}, t, 0.001, 0.05);
  expect_recovers(trajectory_form("exponential"), {-1.5, 3.0, 2.0}, t, 0.001, 0.05);
}

TEST(CurveFit, TooFewPointsIsNotOk) {
  EXPECT_FALSE(fit_curve(position_form("hyperbolic"), {1, 2}, {3, 2}).ok);
}

TEST(CurveFit, UnknownFormNamesAreUserErrors) {
  EXPECT_THROW(position_form("hyperbolc"), UserError);
  EXPECT_THROW(trajectory_form("cosine"), UserError);
}

TEST(TrajectorySelection, PicksTheGeneratingForm) {
  // Ten steps out to 2x the observed span: the held-out points are the last 4.
  std::vector<double> t = range(0.1, 1.0, 16);
  struct Case {
    std::string form;
    std::vector<double> params;
  };
  std::vector<Case> cases = {{"power", {1.0, -0.5, 0.0}},  // 1/sqrt(t): keeps falling
                             {"log", {1.0, -0.8}},
                             {"hyperbolic", {3.0, 20.0, 0.5}},  // fast fall then flat
                             {"exponential", {2.0, 6.0, 1.0}}};
  for (const auto& c : cases) {
    auto values = generate(trajectory_form(c.form), c.params, t, 1e-4, 11);
    TrajectoryFit chosen = fit_trajectory("a", trajectory_forms(), t, values, 4);
    EXPECT_EQ(chosen.fit.form.name, c.form);
    EXPECT_EQ(chosen.holdout_rmse.size(), 4u);
  }
}

TEST(FitMetrics, MapeAndR2OnHandExamples) {
  // |2-1|/1 = 1, |4-5|/5 = 0.2 -> 60%. Mean of actual 3: SS_tot = 8, SS_res = 2 -> R^2 = 0.75.
  EXPECT_DOUBLE_EQ(mape({2, 4}, {1, 5}), 60.0);
  EXPECT_DOUBLE_EQ(r_squared({2, 4}, {1, 5}), 0.75);
  EXPECT_NEAR(mape({3.3}, {3.0}), 10.0, 1e-9);
  EXPECT_DOUBLE_EQ(r_squared({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_TRUE(std::isnan(r_squared({1}, {2})));     // one point: no variance to explain
  EXPECT_TRUE(std::isnan(r_squared({1, 2}, {2, 2})));  // constant actual
  EXPECT_TRUE(std::isnan(mape({}, {})));
}

}  // namespace
}  // namespace lmlab::analysis
