// The Temporal Scaling Law end to end on a synthetic run whose per-position parameters follow
// known trajectories, the position_loss.jsonl reader, and `lmlab scaling fit` on good and bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "lmlab/analysis/fit_metrics.h"
#include "lmlab/analysis/position_loss.h"
#include "lmlab/analysis/temporal_scaling.h"
#include "lmlab/common/error.h"
#include "testing.h"

namespace lmlab::analysis {
namespace {

constexpr int kCurvePositions = 64;

// a0, a1, a2 of L_i = a0/(1+a1*i)+a2 at a training step: hyperbolic, power and log in time.
std::vector<double> true_params(double step) {
  double t = step / 1000.0;
  return {1.0 + 2.0 / (1.0 + 4.0 * t), 0.2 * std::pow(t, -0.3), 3.0 - 0.4 * std::log(t)};
}

double true_loss(int i, double step) {  // i = 1..T
  auto p = true_params(step);
  return p[0] / (1.0 + p[1] * i) + p[2];
}

// position_loss.jsonl for steps 0, 100, ..., last, with seeded noise on every position.
std::string synthetic_run(int64_t last, double noise) {
  std::mt19937 rng(5);
  std::normal_distribution<double> gauss(0.0, noise);
  std::ostringstream out;
  for (int64_t step = 0; step <= last; step += 100) {
    nlohmann::json line;
    std::vector<double> losses;
    double mean = 0;
    for (int i = 1; i <= kCurvePositions; ++i) {
      double l = step == 0 ? 10.4 : true_loss(i, static_cast<double>(step)) + gauss(rng);
      losses.push_back(l);
      mean += l / kCurvePositions;
    }
    line["step"] = step;
    line["tokens"] = step * 4096;
    line["loss"] = mean;
    line["position_loss"] = losses;
    out << line.dump() << "\n";
  }
  return out.str();
}

double exact_mean_loss(double step) {
  double sum = 0;
  for (int i = 1; i <= kCurvePositions; ++i) sum += true_loss(i, step);
  return sum / kCurvePositions;
}

TEST(TemporalScaling, PredictsASyntheticRunFromItsFirstQuarter) {
  test::TempDir dir;
  test::write_text(dir.file("position_loss.jsonl"), synthetic_run(4000, 0.002));
  auto evals = read_position_loss(dir.file("position_loss.jsonl"));
  ASSERT_EQ(evals.size(), 41u);
  ScalingOptions options;
  options.position_law = "hyperbolic";  // the parameters are compared with true_params()
  ScalingResult r = fit_temporal_scaling(evals, options);
  EXPECT_EQ(r.options.observe_until, 1000);  // 25% of the last step
  EXPECT_EQ(r.observed.size(), 10u);         // steps 100..1000; step 0 is left out
  ASSERT_EQ(r.predictions.size(), 30u);      // steps 1100..4000
  for (size_t k = 0; k < r.step_fits.size(); ++k) {
    auto truth = true_params(static_cast<double>(r.step_fits[k].step));
    for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(r.step_fits[k].params[j], truth[j], 0.05 * std::abs(truth[j]));
  }
  EXPECT_LT(r.ours.mape, 0.5);
  EXPECT_GT(r.ours.r2, 0.9);
  std::vector<double> ours, actual;
  for (const auto& p : r.predictions) {
    EXPECT_NEAR(p.ours, exact_mean_loss(static_cast<double>(p.step)), 0.02 * p.actual);
    ours.push_back(p.ours);
    actual.push_back(p.actual);
  }
  EXPECT_DOUBLE_EQ(r.ours.mape, mape(ours, actual));
  EXPECT_DOUBLE_EQ(r.ours.r2, r_squared(ours, actual));
}

TEST(TemporalScaling, PredictToBeyondTheFileExtendsAtTheEvalInterval) {
  test::TempDir dir;
  test::write_text(dir.file("position_loss.jsonl"), synthetic_run(1200, 0.001));
  ScalingOptions options;
  options.observe_until = 800;
  options.predict_to = 1650;
  ScalingResult r = fit_temporal_scaling(read_position_loss(dir.file("position_loss.jsonl")), options);
  std::vector<int64_t> steps;
  for (const auto& p : r.predictions) steps.push_back(p.step);
  EXPECT_EQ(steps, (std::vector<int64_t>{900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1650}));
  EXPECT_TRUE(r.predictions[3].has_actual);
  EXPECT_FALSE(r.predictions[4].has_actual);
}

TEST(TemporalScaling, TooFewObservedStepsIsAUserError) {
  test::TempDir dir;
  test::write_text(dir.file("position_loss.jsonl"), synthetic_run(2000, 0.001));
  ScalingOptions options;
  options.observe_until = 300;  // steps 100, 200, 300
  EXPECT_THROW(fit_temporal_scaling(read_position_loss(dir.file("position_loss.jsonl")), options), UserError);
}

// --- the command line ---

struct BadFile {
  std::string content, expected;
};

TEST(ScalingCli, BadPositionLossFilesExitTwoNamingFileAndLine) {
  std::string good = R"({"step": 100, "tokens": 1, "loss": 3.0, "position_loss": [3.5, 3.0, 2.5]})" "\n";
  std::vector<BadFile> cases = {
      {good + "{\"step\": 200, \"position_loss\": [1, 2,\n", "position_loss.jsonl:2:"},
      {good + "[1, 2, 3]\n", "position_loss.jsonl:2:1: expected a JSON object"},
      {good + "{\"step\": 200}\n", "position_loss.jsonl:2:1: missing \"position_loss\""},
      {good + "\n{\"step\": 200, \"position_loss\": [1, \"x\", 3]}\n", "position_loss.jsonl:3:1: position_loss[1] must be a finite number"},
      {good + "{\"step\": 200, \"position_loss\": [1, 2]}\n", "position_loss.jsonl:2:1: position_loss has 2 entries"},
      {good + "{\"step\": 100, \"position_loss\": [1, 2, 3]}\n", "position_loss.jsonl:2:1: step 100 does not increase"},
      {"{\"step\": -5, \"position_loss\": [1]}\n", "position_loss.jsonl:1:1: \"step\" must be a non-negative integer"},
      {"", "position_loss.jsonl: no evaluations"},
  };
  for (const auto& c : cases) {
    test::TempDir dir;
    test::write_text(dir.file("position_loss.jsonl"), c.content);
    auto r = test::run_lmlab("scaling fit --run " + dir.path());
    EXPECT_EQ(r.exit_code, 2) << c.expected;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
}

TEST(ScalingCli, MissingFileAndTooFewStepsExitTwo) {
  test::TempDir dir;
  auto missing = test::run_lmlab("scaling fit --run " + dir.path());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("position_loss.jsonl: no such file"), std::string::npos) << missing.err;

  test::write_text(dir.file("position_loss.jsonl"), synthetic_run(2000, 0.001));
  auto few = test::run_lmlab("scaling fit --run " + dir.path() + " --observe-until 300");
  EXPECT_EQ(few.exit_code, 2);
  EXPECT_NE(few.err.find("needs at least 4"), std::string::npos) << few.err;
}

TEST(ScalingCli, FitPrintsTableAndWritesJsonAndPlot) {
  test::TempDir dir;
  test::write_text(dir.file("position_loss.jsonl"), synthetic_run(2000, 0.002));
  auto r = test::run_lmlab("scaling fit --run " + dir.path() + " --observe-until 800 --json " + dir.file("fit.json") +
                           " --plot " + dir.file("fit.png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("temporal scaling law"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("power law"), std::string::npos);
  auto j = nlohmann::json::parse(test::read_text(dir.file("fit.json")));
  EXPECT_EQ(j["observe_until"], 800);
  EXPECT_EQ(j["predictions"].size(), 12u);
  EXPECT_EQ(j["trajectories"].size(), 3u);
  EXPECT_LT(j["scores"]["ours"]["mape_percent"].get<double>(), 1.0);
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_EQ(test::read_text(dir.file("fit.png")).substr(1, 3), "PNG");
  }
}

}  // namespace
}  // namespace lmlab::analysis
