// Fitting and extrapolating the Temporal Scaling Law (see temporal_scaling.h).
#include "lmlab/analysis/temporal_scaling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lmlab/analysis/fit_metrics.h"
#include "lmlab/analysis/schedule_forms.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {

namespace {

constexpr size_t kMinObserved = 4;  // 3 to fit a 3-parameter trajectory + 1 held out

double law_mean(const CurveForm& law, const std::vector<double>& params, int64_t positions) {
  double sum = 0;
  for (int64_t i = 1; i <= positions; ++i) sum += law.eval(static_cast<double>(i), params);
  return sum / static_cast<double>(positions);
}

// Steps to predict: the file's steps after observe_until up to predict_to, then (if predict_to
// lies beyond the file) steps continuing at the file's last eval interval.
std::vector<Prediction> prediction_steps(const std::vector<EvalPoint>& evals, int64_t observe_until, int64_t predict_to) {
  std::vector<Prediction> out;
  for (const auto& e : evals) {
    if (e.step > observe_until && e.step <= predict_to) out.push_back({e.step, true, e.loss, 0, 0, 0, 0});
  }
  int64_t last = evals.back().step;
  int64_t interval = evals.size() > 1 ? last - evals[evals.size() - 2].step : std::max<int64_t>(last, 1);
  for (int64_t s = std::max(last, observe_until) + interval; s <= predict_to; s += interval) {
    out.push_back({s, false, 0, 0, 0, 0, 0});
  }
  if (predict_to > std::max(last, observe_until) && (out.empty() || out.back().step != predict_to)) {
    out.push_back({predict_to, false, 0, 0, 0, 0, 0});
  }
  return out;
}

Score score(const std::vector<Prediction>& predictions, double Prediction::*method) {
  std::vector<double> predicted, actual;
  for (const auto& p : predictions) {
    if (!p.has_actual) continue;
    predicted.push_back(p.*method);
    actual.push_back(p.actual);
  }
  return {mape(predicted, actual), r_squared(predicted, actual)};
}

// Every free form, or the named ones; the schedule-tied forms need the run's schedule.
std::vector<CurveForm> candidate_forms(const ScalingOptions& o, double steps_per_t) {
  std::vector<CurveForm> all = trajectory_forms();
  if (o.schedule) {
    for (auto& f : schedule_trajectory_forms(o.schedule, steps_per_t)) all.push_back(f);
  }
  if (o.trajectory_candidates.empty()) return all;
  std::vector<CurveForm> chosen;
  for (const auto& name : o.trajectory_candidates) {
    auto it = std::find_if(all.begin(), all.end(), [&](const CurveForm& f) { return f.name == name; });
    if (it != all.end()) {
      chosen.push_back(*it);
      continue;
    }
    auto tied = schedule_form_names();
    if (std::find(tied.begin(), tied.end(), name) != tied.end())
      throw UserError("trajectory form '" + name + "' follows the learning-rate schedule: it needs the run's config.toml" +
                      (o.schedule ? std::string(" with a schedule that decays") : std::string()));
    chosen.push_back(trajectory_form(name));  // UserError naming the choices
  }
  return chosen;
}

// Time per step from the observed evaluations: their trained tokens when time = "tokens"
// (lmlab trains the same number of tokens every step), else 1.
double time_per_step(const std::vector<EvalPoint>& observed, const std::string& time) {
  if (time == "steps") return 1;
  if (time != "tokens") throw UserError("unknown --time '" + time + "' (choices: tokens, steps)");
  const EvalPoint& last = observed.back();
  const double per_step = static_cast<double>(last.tokens) / static_cast<double>(last.step);
  for (const auto& e : observed) {
    if (e.tokens <= 0)
      throw UserError("--time tokens: the evaluation at step " + std::to_string(e.step) +
                      " has no \"tokens\" (use --time steps)");
    if (std::abs(static_cast<double>(e.tokens) - per_step * static_cast<double>(e.step)) > 1e-9 * static_cast<double>(e.tokens))
      throw UserError("--time tokens: trained tokens are not proportional to steps (step " + std::to_string(e.step) +
                      " has " + std::to_string(e.tokens) + "); use --time steps");
  }
  return per_step;
}

double mean_position_se(const EvalPoint& e) {
  if (e.position_se.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (double v : e.position_se) sum += v;
  return sum / static_cast<double>(e.position_se.size());
}

}  // namespace

StepFit fit_positions(const CurveForm& law, const EvalPoint& e) {
  std::vector<double> i, y = e.position_loss;
  for (size_t k = 0; k < y.size(); ++k) i.push_back(static_cast<double>(k + 1));
  CurveFit fit = fit_curve(law, i, y);
  if (!fit.ok) throw UserError("the " + law.name + " position law failed to fit the losses at step " + std::to_string(e.step));
  std::vector<double> predicted;
  for (double x : i) predicted.push_back(fit(x));
  return {e.step, fit.params, r_squared(predicted, y)};
}

TrajectoryFit fit_trajectory(const std::string& param, const std::vector<CurveForm>& forms,
                             const std::vector<double>& t, const std::vector<double>& values, size_t holdout) {
  TrajectoryFit best;
  best.param = param;
  double best_rmse = std::numeric_limits<double>::infinity();
  const size_t train = t.size() - holdout;
  std::vector<double> t_train(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(train));
  std::vector<double> v_train(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(train));
  for (const auto& form : forms) {
    CurveFit fit = fit_curve(form, t_train, v_train);
    if (!fit.ok) continue;
    double sse = 0;
    for (size_t k = train; k < t.size(); ++k) sse += std::pow(fit(t[k]) - values[k], 2);
    double rmse = std::sqrt(sse / static_cast<double>(holdout));
    if (!std::isfinite(rmse)) continue;
    best.holdout_rmse.emplace_back(form.name, rmse);
    if (rmse < best_rmse) {
      best_rmse = rmse;
      best.fit.form = form;
    }
  }
  if (!std::isfinite(best_rmse)) throw UserError("no trajectory form could be fitted to parameter " + param);
  best.fit = fit_curve(best.fit.form, t, values);
  if (!best.fit.ok) throw UserError("the " + best.fit.form.name + " trajectory failed to fit parameter " + param);
  return best;
}

ScalingResult fit_temporal_scaling(const std::vector<EvalPoint>& evals, const ScalingOptions& options) {
  ScalingResult r;
  r.options = options;
  const int64_t last_step = evals.back().step;
  if (r.options.observe_until < 0) r.options.observe_until = last_step / 4;
  if (r.options.predict_to < 0) r.options.predict_to = last_step;
  r.positions = static_cast<int64_t>(evals.front().position_loss.size());
  // Step 0 (the untrained model) is left out: t = 0 has no power or log value.
  for (const auto& e : evals) {
    if (e.step > 0 && e.step <= r.options.observe_until) r.observed.push_back(e);
  }
  if (r.observed.size() < kMinObserved) {
    throw UserError("--observe-until " + std::to_string(r.options.observe_until) + " leaves " +
                    std::to_string(r.observed.size()) + " eval steps with step > 0 to fit; the law needs at least " +
                    std::to_string(kMinObserved) + " (observe longer or evaluate more often)");
  }
  if (r.options.predict_to <= r.options.observe_until) {
    throw UserError("--predict-to " + std::to_string(r.options.predict_to) + " must be after --observe-until " +
                    std::to_string(r.options.observe_until));
  }
  const CurveForm law = position_form(r.options.position_law);
  r.cutoff_step = r.observed.back().step;
  r.time_per_step = time_per_step(r.observed, r.options.time);
  r.time_scale = static_cast<double>(r.cutoff_step) * r.time_per_step;
  r.position_se = mean_position_se(r.observed.back());
  const std::vector<CurveForm> candidates = candidate_forms(r.options, static_cast<double>(r.cutoff_step));

  std::vector<double> t, mean_loss;
  for (const auto& e : r.observed) {
    r.step_fits.push_back(fit_positions(law, e));
    t.push_back(time_of_step(r, static_cast<double>(e.step)));
    mean_loss.push_back(e.loss);
  }
  const size_t holdout = std::clamp<size_t>(
      static_cast<size_t>(std::lround(options.holdout_fraction * static_cast<double>(t.size()))), 1, t.size() - 3);
  for (size_t k = 0; k < law.params.size(); ++k) {
    std::vector<double> values;
    for (const auto& s : r.step_fits) values.push_back(s.params[k]);
    r.trajectories.push_back(fit_trajectory(law.params[k], candidates, t, values, holdout));
  }
  r.power_law = fit_curve(baseline_power_law(), t, mean_loss);
  r.exponential = fit_curve(baseline_exponential(), t, mean_loss);
  if (!r.power_law.ok || !r.exponential.ok) throw UserError("a baseline failed to fit the observed mean losses");

  r.predictions = prediction_steps(evals, r.options.observe_until, r.options.predict_to);
  for (auto& p : r.predictions) {
    double ts = time_of_step(r, static_cast<double>(p.step));
    p.ours = predict_mean_loss(r, static_cast<double>(p.step));
    p.power_law = r.power_law(ts);
    p.exponential = r.exponential(ts);
    p.cutoff = r.observed.back().loss;
  }
  r.ours = score(r.predictions, &Prediction::ours);
  r.power_law_score = score(r.predictions, &Prediction::power_law);
  r.exponential_score = score(r.predictions, &Prediction::exponential);
  r.cutoff_score = score(r.predictions, &Prediction::cutoff);
  return r;
}

double time_of_step(const ScalingResult& result, double step) { return step * result.time_per_step / result.time_scale; }

double law_mean_loss(const ScalingResult& result, const std::vector<double>& params) {
  return law_mean(position_form(result.options.position_law), params, result.positions);
}

double predict_mean_loss(const ScalingResult& result, double step) {
  const double t = time_of_step(result, step);
  std::vector<double> params;
  for (const auto& traj : result.trajectories) params.push_back(traj.fit(t));
  return law_mean_loss(result, params);
}

}  // namespace lmlab::analysis
