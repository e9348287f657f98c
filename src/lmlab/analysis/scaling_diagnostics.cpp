// Per-parameter error analysis of a Temporal Scaling Law fit (see scaling_diagnostics.h).
#include "lmlab/analysis/scaling_diagnostics.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "lmlab/analysis/fit_metrics.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {

namespace {

using json = nlohmann::json;

// Our MAPE on the later steps when parameter k at later step j is value(k, j).
template <class ParamAt>
double mape_with(const ScalingResult& r, const std::vector<EvalPoint>& later, const ParamAt& value) {
  std::vector<double> predicted, actual;
  for (size_t j = 0; j < later.size(); ++j) {
    std::vector<double> params;
    for (size_t k = 0; k < r.trajectories.size(); ++k) params.push_back(value(k, j));
    predicted.push_back(law_mean_loss(r, params));
    actual.push_back(later[j].loss);
  }
  return mape(predicted, actual);
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

ScalingDiagnostics diagnose_parameters(const ScalingResult& r, const std::vector<EvalPoint>& evals) {
  ScalingDiagnostics d;
  const CurveForm law = position_form(r.options.position_law);
  std::vector<EvalPoint> later;
  std::vector<double> t_all, t_later;
  for (const auto& e : r.observed) t_all.push_back(time_of_step(r, static_cast<double>(e.step)));
  for (const auto& e : evals) {
    if (e.step <= r.options.observe_until || e.step > r.options.predict_to) continue;
    later.push_back(e);
    d.later_fits.push_back(fit_positions(law, e));
    t_later.push_back(time_of_step(r, static_cast<double>(e.step)));
    t_all.push_back(t_later.back());
  }
  auto extrapolated = [&](size_t k, size_t j) { return r.trajectories[k].fit(t_later[j]); };
  auto per_step = [&](size_t k, size_t j) { return d.later_fits[j].params[k]; };
  // Every trajectory form refitted on all steps (observed then later).
  std::vector<CurveFit> full;
  for (size_t k = 0; k < r.trajectories.size(); ++k) {
    std::vector<double> values;
    for (const auto& s : r.step_fits) values.push_back(s.params[k]);
    for (const auto& s : d.later_fits) values.push_back(s.params[k]);
    full.push_back(fit_curve(r.trajectories[k].fit.form, t_all, values));
    if (!full.back().ok) throw UserError("the " + full.back().form.name + " trajectory failed to refit " + r.trajectories[k].param);
  }
  d.mape_extrapolated = mape_with(r, later, extrapolated);
  d.mape_law = mape_with(r, later, per_step);
  d.mape_full_fit = mape_with(r, later, [&](size_t k, size_t j) { return full[k](t_later[j]); });
  for (size_t k = 0; k < r.trajectories.size(); ++k) {
    ParamDiagnostic p;
    p.param = r.trajectories[k].param;
    p.form = r.trajectories[k].fit.form.name;
    p.cutoff_coefficients = r.trajectories[k].fit.params;
    p.full_coefficients = full[k].params;
    double abs_error = 0, magnitude = 0;
    for (size_t j = 0; j < later.size(); ++j) {
      abs_error += std::abs(extrapolated(k, j) - per_step(k, j));
      magnitude += std::abs(per_step(k, j));
    }
    const auto n = static_cast<double>(later.size());
    p.mean_abs_error = later.empty() ? std::numeric_limits<double>::quiet_NaN() : abs_error / n;
    p.relative_error = magnitude > 0 ? abs_error / magnitude : std::numeric_limits<double>::quiet_NaN();
    p.mape_full_this = mape_with(r, later, [&](size_t i, size_t j) { return i == k ? full[k](t_later[j]) : extrapolated(i, j); });
    p.mape_actual_this = mape_with(r, later, [&](size_t i, size_t j) { return i == k ? per_step(i, j) : extrapolated(i, j); });
    p.mape_only_extrapolated =
        mape_with(r, later, [&](size_t i, size_t j) { return i == k ? extrapolated(i, j) : per_step(i, j); });
    d.params.push_back(std::move(p));
  }
  return d;
}

std::string diagnostics_table(const ScalingDiagnostics& d) {
  std::ostringstream out;
  out << "where the error comes from (MAPE % on the later steps): extrapolated " << fixed(d.mape_extrapolated, 3)
      << ", position law at per-step parameters " << fixed(d.mape_law, 3) << ", every trajectory refitted on all steps "
      << fixed(d.mape_full_fit, 3) << "\n";
  out << "parameter  form              |extrap - per-step|  relative   MAPE: only it refitted  only it per-step"
         "  only it extrapolated\n";
  for (const auto& p : d.params) {
    char row[240];
    std::snprintf(row, sizeof row, "%-10s %-17s %19s %9s %24s %17s %21s\n", p.param.c_str(), p.form.c_str(),
                  fixed(p.mean_abs_error, 4).c_str(), fixed(p.relative_error, 4).c_str(), fixed(p.mape_full_this, 3).c_str(),
                  fixed(p.mape_actual_this, 3).c_str(), fixed(p.mape_only_extrapolated, 3).c_str());
    out << row;
  }
  return out.str();
}

json diagnostics_json(const ScalingDiagnostics& d) {
  json j = {{"mape_extrapolated", number_or_null(d.mape_extrapolated)},
            {"mape_law_per_step_params", number_or_null(d.mape_law)},
            {"mape_all_refitted", number_or_null(d.mape_full_fit)}};
  j["later_step_fits"] = json::array();
  for (const auto& s : d.later_fits) j["later_step_fits"].push_back({{"step", s.step}, {"params", s.params}});
  j["params"] = json::object();
  for (const auto& p : d.params) {
    j["params"][p.param] = {{"form", p.form},
                            {"cutoff_coefficients", p.cutoff_coefficients},
                            {"full_coefficients", p.full_coefficients},
                            {"mean_abs_error", number_or_null(p.mean_abs_error)},
                            {"relative_error", number_or_null(p.relative_error)},
                            {"mape_only_it_refitted", number_or_null(p.mape_full_this)},
                            {"mape_only_it_per_step", number_or_null(p.mape_actual_this)},
                            {"mape_only_it_extrapolated", number_or_null(p.mape_only_extrapolated)}};
  }
  return j;
}

}  // namespace lmlab::analysis
