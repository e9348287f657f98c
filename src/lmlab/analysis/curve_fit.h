// Named parametric curves y = f(x; p) and their least-squares fit with Eigen's
// Levenberg-Marquardt (unsupported/Eigen/NonLinearOptimization, MINPACK's lmdif).
// Used by the Temporal Scaling Law (temporal_scaling.h) for the per-position law, the
// parameter trajectories and the whole-curve baselines.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace lmlab::analysis {

struct CurveForm {
  std::string name;
  std::string formula;              // e.g. "a0/(1+a1*x)+a2", for tables and JSON
  std::vector<std::string> params;  // parameter names, in order
  // Parameters that must stay > 0 (rates, exponents of decay): fitted as exp(u) so the solver
  // never steps into a pole or a growing "decay".
  std::vector<bool> positive;
  std::function<double(double x, const std::vector<double>& p)> eval;
  // Starting points derived from the data; the fit keeps the best of the converged ones.
  std::function<std::vector<std::vector<double>>(const std::vector<double>& x, const std::vector<double>& y)> starts;
};

struct CurveFit {
  CurveForm form;
  std::vector<double> params;
  double sse = 0;   // sum of squared residuals on the fitted points
  bool ok = false;  // a finite fit was found
  double operator()(double x) const { return form.eval(x, params); }
};

// Least-squares fit of `form` to (x, y). Needs at least as many points as parameters; returns
// ok = false (never throws) when no start converges to finite values.
CurveFit fit_curve(const CurveForm& form, const std::vector<double>& x, const std::vector<double>& y);

// Per-position laws L(i), i = 1..T: "hyperbolic" a0/(1+a1*i)+a2, the same family as "shifted"
// a0/(a1+i)+a2 (identifiable when the first's a1 is huge), and "power" a0*i^-a1+a2.
std::vector<std::string> position_form_names();
// UserError naming the valid choices for an unknown name.
CurveForm position_form(const std::string& name);

// Candidate forms of a parameter's trajectory over (normalised) training time t > 0:
// "power" c0*t^c1+c2 (either sign of c1), "log" c0+c1*ln t, "hyperbolic" c0/(1+c1*t)+c2,
// "exponential" c0*exp(-c1*t)+c2.
std::vector<CurveForm> trajectory_forms();
CurveForm trajectory_form(const std::string& name);

// Whole-curve baselines of the mean loss over t: A*t^-alpha+E and A*exp(-b*t)+E.
CurveForm baseline_power_law();
CurveForm baseline_exponential();

}  // namespace lmlab::analysis
