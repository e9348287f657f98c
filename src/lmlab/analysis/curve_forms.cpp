// The named curve forms of the Temporal Scaling Law: per-position laws, parameter-trajectory
// candidates and whole-curve baselines, each with data-driven starting points for the solver.
#include <algorithm>
#include <cmath>

#include "lmlab/analysis/curve_fit.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {

namespace {

using Starts = std::vector<std::vector<double>>;

// Plausible asymptotes for a curve that levels off: the last value, and one further below.
std::vector<double> asymptote_guesses(const std::vector<double>& y) {
  double first = y.front(), last = y.back();
  return {last, last - 0.5 * (first - last), last - 2.0 * (first - last)};
}

// c0*g(x)+c2 through the first point for each (rate, asymptote) pair: c0 = (y0 - c2) / g(x0).
Starts through_first_point(const std::vector<double>& x, const std::vector<double>& y,
                           const std::vector<double>& rates, double (*g)(double x, double rate)) {
  Starts s;
  for (double rate : rates) {
    for (double c2 : asymptote_guesses(y)) s.push_back({(y.front() - c2) / g(x.front(), rate), rate, c2});
  }
  return s;
}

double hyperbolic_shape(double x, double rate) { return 1.0 / (1.0 + rate * x); }
double shifted_shape(double x, double shift) { return 1.0 / (shift + x); }
double power_shape(double x, double exponent) { return std::pow(x, exponent); }
double decay_power_shape(double x, double exponent) { return std::pow(x, -exponent); }
double exponential_shape(double x, double rate) { return std::exp(-rate * x); }

CurveForm hyperbolic(const std::string& var, std::vector<double> rates) {
  return {"hyperbolic", "c0/(1+c1*" + var + ")+c2", {"c0", "c1", "c2"}, {false, true, false},
          [](double x, const std::vector<double>& p) { return p[0] / (1.0 + p[1] * x) + p[2]; },
          [rates](const std::vector<double>& x, const std::vector<double>& y) {
            return through_first_point(x, y, rates, hyperbolic_shape);
          }};
}

CurveForm exponential(std::vector<double> rates) {
  return {"exponential", "c0*exp(-c1*t)+c2", {"c0", "c1", "c2"}, {false, true, false},
          [](double x, const std::vector<double>& p) { return p[0] * std::exp(-p[1] * x) + p[2]; },
          [rates](const std::vector<double>& x, const std::vector<double>& y) {
            return through_first_point(x, y, rates, exponential_shape);
          }};
}

CurveForm decaying_power(std::vector<double> exponents) {
  return {"power", "c0*t^(-c1)+c2", {"c0", "c1", "c2"}, {false, true, false},
          [](double x, const std::vector<double>& p) { return p[0] * std::pow(x, -p[1]) + p[2]; },
          [exponents](const std::vector<double>& x, const std::vector<double>& y) {
            return through_first_point(x, y, exponents, decay_power_shape);
          }};
}

CurveForm with_names(CurveForm f, const std::string& formula, std::vector<std::string> params) {
  f.formula = formula;
  f.params = std::move(params);
  return f;
}

}  // namespace

std::vector<std::string> position_form_names() { return {"shifted", "hyperbolic", "power"}; }

CurveForm position_form(const std::string& name) {
  if (name == "hyperbolic") {
    return with_names(hyperbolic("i", {0.01, 0.1, 1.0, 10.0}), "a0/(1+a1*i)+a2", {"a0", "a1", "a2"});
  }
  // The hyperbolic family written as b/(i+c)+a2 (b = a0/a1, c = 1/a1, plus the limit c = 0).
  // On real runs a1 of the form above runs off to 1e5-1e6 at some steps, where only a0/a1 is
  // determined; this form keeps every parameter identifiable, so its trajectories can be
  // extrapolated (docs/scaling.md).
  if (name == "shifted") {
    return {"shifted", "a0/(a1+i)+a2", {"a0", "a1", "a2"}, {false, true, false},
            [](double x, const std::vector<double>& p) { return p[0] / (std::max(p[1], 0.0) + x) + p[2]; },
            [](const std::vector<double>& x, const std::vector<double>& y) {
              return through_first_point(x, y, {0.01, 0.1, 1.0, 10.0, 100.0}, shifted_shape);
            }};
  }
  if (name == "power") {
    return with_names(decaying_power({0.1, 0.3, 1.0, 2.0}), "a0*i^(-a1)+a2", {"a0", "a1", "a2"});
  }
  throw UserError("unknown position law '" + name + "'" + did_you_mean(name, position_form_names()) +
                  " (choices: shifted, hyperbolic, power)");
}

std::vector<CurveForm> trajectory_forms() {
  CurveForm power{"power", "c0*t^c1+c2", {"c0", "c1", "c2"}, {false, false, false},
                  [](double x, const std::vector<double>& p) { return p[0] * std::pow(x, p[1]) + p[2]; },
                  [](const std::vector<double>& x, const std::vector<double>& y) {
                    return through_first_point(x, y, {-1.0, -0.5, 0.5, 1.0}, power_shape);
                  }};
  CurveForm log_form{"log", "c0+c1*ln(t)", {"c0", "c1"}, {false, false},
                [](double x, const std::vector<double>& p) { return p[0] + p[1] * std::log(x); },
                [](const std::vector<double>&, const std::vector<double>& y) {
                  return Starts{{y.back(), 0.0}};  // linear in the parameters: any start converges
                }};
  return {power, log_form, hyperbolic("t", {0.3, 1.0, 3.0, 10.0, 30.0}), exponential({0.3, 1.0, 3.0, 10.0})};
}

CurveForm trajectory_form(const std::string& name) {
  std::vector<std::string> names;
  for (auto& f : trajectory_forms()) {
    if (f.name == name) return f;
    names.push_back(f.name);
  }
  throw UserError("unknown trajectory form '" + name + "'" + did_you_mean(name, names));
}

CurveForm baseline_power_law() {
  return with_names(decaying_power({0.1, 0.3, 0.5, 1.0, 2.0}), "A*t^(-alpha)+E", {"A", "alpha", "E"});
}

CurveForm baseline_exponential() {
  return with_names(exponential({0.3, 1.0, 3.0, 10.0}), "A*exp(-b*t)+E", {"A", "b", "E"});
}

}  // namespace lmlab::analysis
