// The learning-rate schedule the schedule-tied trajectories follow, the piecewise-cosine and
// lr-area forms (their formulas at known points, continuity at the warm-up / decay boundary,
// recovery by the fit), the loss-at-the-cut-off baseline, and the per-parameter diagnostics.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "lmlab/analysis/fit_metrics.h"
#include "lmlab/analysis/lr_schedule.h"
#include "lmlab/analysis/scaling_diagnostics.h"
#include "lmlab/analysis/schedule_forms.h"
#include "lmlab/analysis/temporal_scaling.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {
namespace {

constexpr int kWarmup = 10, kSteps = 100;
constexpr double kMax = 2e-3, kMin = 2e-4;

// train/schedule.cpp's warm-up + cosine, written out again: lr_s = max (s+1)/W, then
// min + (max - min) (1 + cos(pi p)) / 2 with p = (s - W) / (S - W).
double cosine_lr(int s) {
  if (s < kWarmup) return kMax * (s + 1) / kWarmup;
  const double p = static_cast<double>(s - kWarmup) / (kSteps - kWarmup);
  return kMin + (kMax - kMin) * 0.5 * (1.0 + std::cos(M_PI * p));
}

std::shared_ptr<const LrSchedule> cosine_schedule() {
  std::vector<double> lr;
  for (int s = 0; s < kSteps; ++s) lr.push_back(cosine_lr(s));
  return std::make_shared<LrSchedule>(lr, kMin);
}

double cosine_phase(int s) { return (1.0 - std::cos(M_PI * (s - kWarmup) / (kSteps - kWarmup))) / 2.0; }

TEST(LrSchedule, AnnealIsTheCosinePhaseAndAreaTheSumOfRates) {
  auto sched = cosine_schedule();
  EXPECT_EQ(sched->peak_step(), kWarmup - 1);
  EXPECT_TRUE(sched->decays());
  double sum = 0;
  for (int s = 0; s < kSteps; ++s) {
    EXPECT_NEAR(sched->lr(s), cosine_lr(s), 1e-15);
    EXPECT_NEAR(sched->area(s), sum, 1e-15) << s;  // the rates of steps 0..s-1
    sum += cosine_lr(s);
    EXPECT_NEAR(sched->anneal(s), s < kWarmup ? 0.0 : cosine_phase(s), 1e-12) << s;
  }
  EXPECT_NEAR(sched->area(2.5), cosine_lr(0) + cosine_lr(1) + 0.5 * cosine_lr(2), 1e-15);
  EXPECT_NEAR(sched->area(kSteps + 3), sum + 3 * cosine_lr(kSteps - 1), 1e-15);  // the last rate continues
  EXPECT_EQ(LrSchedule(std::vector<double>(5, 1e-3), 1e-3).decays(), false);
  EXPECT_THROW(LrSchedule({}, 0), UserError);
  EXPECT_THROW(LrSchedule({1e-3, -1.0}, 0), UserError);
}

CurveForm form_named(const std::vector<CurveForm>& forms, const std::string& name) {
  for (const auto& f : forms)
    if (f.name == name) return f;
  ADD_FAILURE() << "no form " << name;
  return forms.front();
}

TEST(ScheduleForms, EqualTheirFormulasAtKnownPointsAndAreContinuousAtThePhaseBoundary) {
  auto sched = cosine_schedule();
  const double cut = 40;  // t = 1 at step 40
  auto forms = schedule_trajectory_forms(sched, cut);
  ASSERT_EQ(forms.size(), 2u);
  const CurveForm pc = form_named(forms, "piecewise-cosine"), area = form_named(forms, "lr-area");
  const std::vector<double> p = {3.0, -0.2, -0.5};
  for (int s : {1, 5, 9, 10, 25, 55, 99}) {
    const double t = s / cut;
    const double phase = s < kWarmup ? 0.0 : cosine_phase(s);
    EXPECT_NEAR(pc.eval(t, p), 3.0 - 0.2 * std::log(t) - 0.5 * phase, 1e-12) << s;
    EXPECT_NEAR(area.eval(t, p), 3.0 * std::pow(sched->area(s) / sched->area(cut), -0.2) - 0.5, 1e-12) << s;
  }
  EXPECT_NEAR(pc.eval(55 / cut, p) - (3.0 - 0.2 * std::log(55 / cut)), -0.25, 1e-12);  // half-way: phase 1/2
  // Continuity where the warm-up ends and the cosine begins: the jump over a shrinking interval
  // around the boundary shrinks with it.
  for (double h : {1e-2, 1e-4, 1e-6}) {
    const double boundary = kWarmup / cut, dt = h / cut;
    EXPECT_LT(std::abs(pc.eval(boundary + dt, p) - pc.eval(boundary - dt, p)), 10 * h) << h;
  }
}

TEST(ScheduleForms, FitRecoversPiecewiseCosineCoefficients) {
  auto sched = cosine_schedule();
  const CurveForm pc = form_named(schedule_trajectory_forms(sched, 40), "piecewise-cosine");
  std::vector<double> t, y;
  for (int s = 4; s <= 96; s += 4) {
    t.push_back(s / 40.0);
    y.push_back(pc.eval(t.back(), {2.5, -0.3, -0.8}));
  }
  CurveFit fit = fit_curve(pc, t, y);
  ASSERT_TRUE(fit.ok);
  EXPECT_NEAR(fit.params[0], 2.5, 1e-6);
  EXPECT_NEAR(fit.params[1], -0.3, 1e-6);
  EXPECT_NEAR(fit.params[2], -0.8, 1e-6);
}

// --- the whole law with a schedule ---

constexpr int kPositions = 32;

// a0, a1, a2 of the shifted law a0/(a1+i)+a2 at `step` of the cosine schedule: a0 and a1 follow
// power laws in time, a2 falls with ln t and drops with the cosine phase.
std::vector<double> scheduled_params(double step) {
  const double t = step / 40.0;
  const double phase = step < kWarmup ? 0.0 : (1.0 - std::cos(M_PI * (step - kWarmup) / (kSteps - kWarmup))) / 2.0;
  return {2.0 * std::pow(t, -0.2) + 1.0, 0.5 * std::pow(t, 0.3) + 0.5, 3.0 - 0.15 * std::log(t) - 0.4 * phase};
}

std::vector<EvalPoint> scheduled_run() {
  std::vector<EvalPoint> evals;
  for (int step = 0; step <= kSteps; step += 4) {
    EvalPoint e;
    e.step = step;
    e.tokens = step * 512;
    const auto p = scheduled_params(step == 0 ? 1 : step);
    for (int i = 1; i <= kPositions; ++i) e.position_loss.push_back(p[0] / (p[1] + i) + p[2]);
    for (double l : e.position_loss) e.loss += l / kPositions;
    e.position_se.assign(kPositions, 0.01);
    evals.push_back(e);
  }
  return evals;
}

TEST(TemporalScalingSchedule, TheCutOffBaselineAndItsMape) {
  auto evals = scheduled_run();
  ScalingOptions o;
  o.observe_until = 40;
  o.schedule = cosine_schedule();
  ScalingResult r = fit_temporal_scaling(evals, o);
  EXPECT_EQ(r.cutoff_step, 40);
  EXPECT_DOUBLE_EQ(r.time_per_step, 512.0);
  EXPECT_DOUBLE_EQ(time_of_step(r, 80), 2.0);
  EXPECT_DOUBLE_EQ(r.position_se, 0.01);
  double loss40 = 0, sum = 0;
  for (const auto& e : evals)
    if (e.step == 40) loss40 = e.loss;
  int n = 0;
  for (const auto& p : r.predictions) {
    EXPECT_DOUBLE_EQ(p.cutoff, loss40);
    sum += std::abs(loss40 - p.actual) / p.actual;
    ++n;
  }
  EXPECT_EQ(n, 15);  // steps 44..100
  EXPECT_NEAR(r.cutoff_score.mape, 100.0 * sum / n, 1e-12);
}

TEST(TemporalScalingSchedule, PiecewiseCosineFollowsTheDecayWhereFreeFormsCannot) {
  auto evals = scheduled_run();
  ScalingOptions tied;
  tied.observe_until = 40;
  tied.schedule = cosine_schedule();
  tied.trajectory_candidates = {"power", "piecewise-cosine"};
  ScalingResult with = fit_temporal_scaling(evals, tied);
  ScalingOptions free_forms = tied;
  free_forms.schedule = nullptr;
  free_forms.trajectory_candidates = {"power"};
  ScalingResult without = fit_temporal_scaling(evals, free_forms);
  EXPECT_EQ(with.trajectories[2].fit.form.name, "piecewise-cosine");
  EXPECT_LT(with.ours.mape, 0.2);
  EXPECT_GT(without.ours.mape, 2 * with.ours.mape);

  // The diagnostics put the free fit's error on a2, the parameter the decay drives.
  ScalingDiagnostics d = diagnose_parameters(without, evals);
  EXPECT_NEAR(d.mape_extrapolated, without.ours.mape, 1e-9);
  EXPECT_LT(d.mape_law, 1e-6);  // the data follow the shifted law exactly
  ASSERT_EQ(d.params.size(), 3u);
  EXPECT_LT(d.params[2].mape_actual_this, 0.25 * without.ours.mape);
  EXPECT_LT(d.params[2].mape_actual_this, d.params[0].mape_actual_this);
  EXPECT_LT(d.params[2].mape_actual_this, d.params[1].mape_actual_this);
  // a2 extrapolated alone (a0, a1 at their per-step values) keeps most of the error.
  EXPECT_GT(d.params[2].mape_only_extrapolated, 0.5 * without.ours.mape);
  EXPECT_GT(d.params[2].mape_only_extrapolated, 4 * d.params[0].mape_only_extrapolated);
  EXPECT_GT(d.params[2].mape_only_extrapolated, 4 * d.params[1].mape_only_extrapolated);
  EXPECT_EQ(d.later_fits.size(), 15u);
}

TEST(TemporalScalingSchedule, ScheduleFormsWithoutAScheduleAndBadTimesAreUserErrors) {
  auto evals = scheduled_run();
  ScalingOptions o;
  o.observe_until = 40;
  o.trajectory_candidates = {"piecewise-cosine"};
  EXPECT_THROW(fit_temporal_scaling(evals, o), UserError);
  o.trajectory_candidates = {};
  for (auto& e : evals) e.tokens = 0;
  EXPECT_THROW(fit_temporal_scaling(evals, o), UserError);  // --time tokens needs tokens
  o.time = "steps";
  EXPECT_NO_THROW(fit_temporal_scaling(evals, o));
}

}  // namespace
}  // namespace lmlab::analysis
