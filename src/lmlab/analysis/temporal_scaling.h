// Temporal Scaling Law (Xiong et al., arXiv 2404.17785): predict a run's future validation loss
// from its early evaluations through the loss at each token position.
//   1. At every observed eval step, fit the per-position law over positions i = 1..T,
//      default L_i = a0 / (1 + a1*i) + a2 (the law's i is the 0-based context position + 1).
//   2. Fit each parameter's trajectory a_k(t) over training time t (trained tokens, normalised to
//      1 at the last observed step), choosing its form among power / log / hyperbolic /
//      exponential and, given the run's learning-rate schedule, piecewise-cosine / lr-area
//      (schedule_forms.h) by the error on the last held-out observed steps.
//   3. Predicted mean loss at step t: (1/T) * sum_{i=1..T} L_i(a(t)).
// Baselines on the same observed steps: L(t) = A*t^-alpha + E, L(t) = A*exp(-b*t) + E, and the
// loss at the cut-off itself (nothing changes after it).
// The paper's exact forms are not public; the open points are options (docs/scaling.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lmlab/analysis/curve_fit.h"
#include "lmlab/analysis/lr_schedule.h"
#include "lmlab/analysis/position_loss.h"

namespace lmlab::analysis {

struct ScalingOptions {
  std::string position_law = "shifted";
  int64_t observe_until = -1;  // last observed step; -1 = 25% of the last step in the file
  int64_t predict_to = -1;     // predict up to this step; -1 = the last step in the file
  // Share of the observed steps (the latest ones, at least 1) held out to choose each
  // parameter's trajectory form by extrapolation error.
  double holdout_fraction = 0.25;
  // empty = every form in trajectory_forms() and, with a schedule, schedule_forms.h's
  std::vector<std::string> trajectory_candidates;
  std::string time = "tokens";  // the trajectories' time: "tokens" (trained tokens) or "steps"
  std::shared_ptr<const LrSchedule> schedule;  // the run's; null = the schedule-tied forms are unavailable
};

struct StepFit {
  int64_t step = 0;
  std::vector<double> params;  // the position law's a0, a1, ...
  double r2 = 0;               // of the law over positions at this step
};

struct TrajectoryFit {
  std::string param;  // "a0", ...
  CurveFit fit;       // the chosen form refitted on all observed steps
  std::vector<std::pair<std::string, double>> holdout_rmse;  // per candidate form
};

struct Prediction {
  int64_t step = 0;
  bool has_actual = false;
  double actual = 0;
  double ours = 0, power_law = 0, exponential = 0;
  double cutoff = 0;  // the mean loss at the last observed step
};

struct Score {
  double mape = 0;  // percent; NaN when nothing is scored
  double r2 = 0;    // NaN when fewer than 2 scored steps
};

struct ScalingResult {
  ScalingOptions options;  // with observe_until / predict_to resolved
  int64_t positions = 0;   // T
  double time_scale = 1;   // t = time / time_scale (time at the last observed step)
  double time_per_step = 1;  // tokens per step ("tokens"), 1 ("steps"): time = step * time_per_step
  int64_t cutoff_step = 0;   // the last observed step
  double position_se = 0;  // mean over positions of position_se at the cut-off; NaN when the file has none
  std::vector<EvalPoint> observed;  // the fitted eval steps (step > 0, <= observe_until)
  std::vector<StepFit> step_fits;
  std::vector<TrajectoryFit> trajectories;
  CurveFit power_law, exponential;  // baselines over t
  std::vector<Prediction> predictions;  // steps after observe_until, up to predict_to
  Score ours, power_law_score, exponential_score, cutoff_score;  // on predictions with an actual value
};

// Normalised time t of `step` (also between and beyond the file's steps).
double time_of_step(const ScalingResult& result, double step);

// UserError when fewer than 4 eval steps (with step > 0) fall at or before observe_until, or
// when a fit fails on the observed data.
ScalingResult fit_temporal_scaling(const std::vector<EvalPoint>& evals, const ScalingOptions& options);

// Mean loss over the T positions predicted by our law at `step`.
double predict_mean_loss(const ScalingResult& result, double step);
// The same from explicit position-law parameters.
double law_mean_loss(const ScalingResult& result, const std::vector<double>& params);
// The position law fitted to one evaluation's per-position losses.
StepFit fit_positions(const CurveForm& law, const EvalPoint& eval);

// Chooses a trajectory among `forms` by RMSE on the last `holdout` points after fitting the
// rest, then refits it on all points. Exposed for tests.
TrajectoryFit fit_trajectory(const std::string& param, const std::vector<CurveForm>& forms,
                             const std::vector<double>& t, const std::vector<double>& values, size_t holdout);

}  // namespace lmlab::analysis
