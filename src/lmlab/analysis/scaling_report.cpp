// Table, JSON and gnuplot plot of a Temporal Scaling Law fit.
#include "lmlab/analysis/scaling_report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "lmlab/common/plot.h"

namespace lmlab::analysis {

namespace {

using json = nlohmann::json;

std::string fixed(double v, int digits = 4) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json curve_json(const CurveFit& fit) {
  json params = json::object();
  for (size_t k = 0; k < fit.params.size(); ++k) params[fit.form.params[k]] = fit.params[k];
  return {{"form", fit.form.name}, {"formula", fit.form.formula}, {"params", params}};
}

json score_json(const Score& s) { return {{"mape_percent", number_or_null(s.mape)}, {"r2", number_or_null(s.r2)}}; }

}  // namespace

std::string scaling_table(const ScalingResult& r) {
  std::ostringstream out;
  const CurveForm law = position_form(r.options.position_law);
  out << "Temporal Scaling Law: position law " << law.formula << " over i = 1.." << r.positions << "\n"
      << "observed " << r.observed.size() << " eval steps (" << r.observed.front().step << ".."
      << r.observed.back().step << ", --observe-until " << r.options.observe_until << "), t = "
      << (r.options.time == "tokens" ? "trained tokens / " : "step / ") << static_cast<int64_t>(r.time_scale)
      << (r.options.schedule ? ", learning-rate schedule from the run's config" : ", no learning-rate schedule") << "\n";
  if (std::isfinite(r.position_se)) {
    out << "per-position standard error at the cut-off: " << fixed(r.position_se, 4) << " (mean over positions)\n";
  }
  out << "\n";
  out << "parameter  trajectory    held-out RMSE per candidate\n";
  for (const auto& traj : r.trajectories) {
    char head[64];
    std::snprintf(head, sizeof head, "%-10s %-13s", traj.param.c_str(), traj.fit.form.name.c_str());
    out << head;
    for (const auto& [form, rmse] : traj.holdout_rmse) out << " " << form << "=" << fixed(rmse, 5);
    out << "\n";
  }
  out << "\n      step     actual       ours  power law  exponential     cut-off\n";
  for (const auto& p : r.predictions) {
    char row[160];
    std::snprintf(row, sizeof row, "%10lld %10s %10s %10s %12s %11s\n", static_cast<long long>(p.step),
                  p.has_actual ? fixed(p.actual).c_str() : "-", fixed(p.ours).c_str(), fixed(p.power_law).c_str(),
                  fixed(p.exponential).c_str(), fixed(p.cutoff).c_str());
    out << row;
  }
  out << "\nmethod                        MAPE %        R^2\n";
  auto line = [&](const char* name, const Score& s) {
    char row[128];
    std::snprintf(row, sizeof row, "%-26s %9s %10s\n", name, fixed(s.mape, 3).c_str(), fixed(s.r2, 4).c_str());
    out << row;
  };
  line("temporal scaling law", r.ours);
  line("power law A*t^-alpha+E", r.power_law_score);
  line("exponential A*exp(-bt)+E", r.exponential_score);
  line("loss at the cut-off", r.cutoff_score);
  return out.str();
}

json scaling_json(const ScalingResult& r) {
  json j;
  j["position_law"] = position_form(r.options.position_law).formula;
  j["positions"] = r.positions;
  j["observe_until"] = r.options.observe_until;
  j["predict_to"] = r.options.predict_to;
  j["time"] = r.options.time;
  j["time_scale"] = r.time_scale;
  j["cutoff_step"] = r.cutoff_step;
  j["schedule"] = static_cast<bool>(r.options.schedule);
  j["position_se_at_cutoff"] = number_or_null(r.position_se);
  if (!r.observed.empty()) j["loss_at_cutoff"] = r.observed.back().loss;
  j["step_fits"] = json::array();
  for (const auto& s : r.step_fits) j["step_fits"].push_back({{"step", s.step}, {"params", s.params}, {"r2", number_or_null(s.r2)}});
  j["trajectories"] = json::array();
  for (const auto& traj : r.trajectories) {
    json candidates = json::object();
    for (const auto& [form, rmse] : traj.holdout_rmse) candidates[form] = rmse;
    json t = curve_json(traj.fit);
    t["param"] = traj.param;
    t["holdout_rmse"] = candidates;
    j["trajectories"].push_back(t);
  }
  j["baselines"] = {{"power_law", curve_json(r.power_law)}, {"exponential", curve_json(r.exponential)}};
  j["predictions"] = json::array();
  for (const auto& p : r.predictions) {
    j["predictions"].push_back({{"step", p.step},
                                {"actual", p.has_actual ? json(p.actual) : json(nullptr)},
                                {"ours", p.ours},
                                {"power_law", p.power_law},
                                {"exponential", p.exponential},
                                {"cutoff", p.cutoff}});
  }
  // The last predicted step that was actually run: what a data-mixture choice ranks by.
  for (auto p = r.predictions.rbegin(); p != r.predictions.rend(); ++p) {
    if (!p->has_actual) continue;
    j["final"] = {{"step", p->step}, {"actual", p->actual}, {"ours", p->ours}, {"power_law", p->power_law},
                  {"exponential", p->exponential}, {"cutoff", p->cutoff}};
    break;
  }
  j["scores"] = {{"ours", score_json(r.ours)},
                 {"power_law", score_json(r.power_law_score)},
                 {"exponential", score_json(r.exponential_score)},
                 {"cutoff", score_json(r.cutoff_score)}};
  return j;
}

bool write_scaling_plot(const ScalingResult& r, const std::vector<EvalPoint>& evals, const std::string& png) {
  std::ostringstream obs, act, cur;
  for (const auto& e : evals) {
    if (e.step == 0) continue;
    (e.step <= r.options.observe_until ? obs : act) << e.step << " " << e.loss << "\n";
  }
  // Smooth predicted curves from the first observed step to predict_to.
  const double first = static_cast<double>(r.observed.front().step), end = static_cast<double>(r.options.predict_to);
  for (int k = 0; k <= 200; ++k) {
    double step = first + (end - first) * k / 200.0, t = time_of_step(r, step);
    cur << step << " " << predict_mean_loss(r, step) << " " << r.power_law(t) << " " << r.exponential(t) << "\n";
  }
  Plot plot;
  plot.width = 1000;
  plot.height = 650;
  plot.data = {{"observed", obs.str()}, {"actual", act.str()}, {"curves", cur.str()}};
  std::ostringstream gp;
  gp << "set xlabel 'step'\nset ylabel 'validation loss (mean over positions)'\nset key top right\n"
     << "set arrow from " << r.options.observe_until << ", graph 0 to " << r.options.observe_until
     << ", graph 1 nohead dashtype 2\n"
     << "plot $observed using 1:2 with points pt 7 lc rgb 'black' title 'observed', \\\n"
     << "     $actual using 1:2 with points pt 6 lc rgb 'gray40' title 'actual (not used)', \\\n"
     << "     $curves using 1:2 with lines lw 2 lc rgb 'red' title 'temporal scaling law', \\\n"
     << "     $curves using 1:3 with lines dashtype 2 lc rgb 'blue' title 'power law', \\\n"
     << "     $curves using 1:4 with lines dashtype 3 lc rgb 'dark-green' title 'exponential'\n";
  plot.commands = gp.str();
  return render_png_or_warn(plot, png);
}

}  // namespace lmlab::analysis
