// Least-squares curve fitting through Eigen's Levenberg-Marquardt (MINPACK lmdif with a
// central-difference Jacobian). Positive parameters are optimised as u = ln p.
#include "lmlab/analysis/curve_fit.h"

#include <unsupported/Eigen/NonLinearOptimization>
#include <unsupported/Eigen/NumericalDiff>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lmlab::analysis {

namespace {

// Residuals r_k(u) = f(x_k; p(u)) - y_k in the functor shape Eigen's solver expects.
struct Residuals {
  using Scalar = double;
  enum { InputsAtCompileTime = Eigen::Dynamic, ValuesAtCompileTime = Eigen::Dynamic };
  using InputType = Eigen::VectorXd;
  using ValueType = Eigen::VectorXd;
  using JacobianType = Eigen::MatrixXd;

  const CurveForm* form = nullptr;
  const std::vector<double>* x = nullptr;
  const std::vector<double>* y = nullptr;

  int inputs() const { return static_cast<int>(form->params.size()); }
  int values() const { return static_cast<int>(x->size()); }

  int operator()(const Eigen::VectorXd& u, Eigen::VectorXd& r) const {
    auto p = to_params(*form, u);
    for (size_t k = 0; k < x->size(); ++k) {
      double v = form->eval((*x)[k], p) - (*y)[k];
      // A huge finite residual steers the solver back instead of poisoning it with NaN.
      r[static_cast<Eigen::Index>(k)] = std::isfinite(v) ? v : 1e10;
    }
    return 0;
  }

  static std::vector<double> to_params(const CurveForm& form, const Eigen::VectorXd& u) {
    std::vector<double> p(form.params.size());
    for (size_t k = 0; k < p.size(); ++k) {
      auto i = static_cast<Eigen::Index>(k);
      p[k] = form.positive[k] ? std::exp(std::clamp(u[i], -60.0, 60.0)) : u[i];
    }
    return p;
  }
};

double sum_squared_error(const CurveForm& form, const std::vector<double>& p, const std::vector<double>& x,
                         const std::vector<double>& y) {
  double sse = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    double r = form.eval(x[k], p) - y[k];
    sse += r * r;
  }
  return sse;
}

}  // namespace

CurveFit fit_curve(const CurveForm& form, const std::vector<double>& x, const std::vector<double>& y) {
  CurveFit best;
  best.form = form;
  best.sse = std::numeric_limits<double>::infinity();
  if (x.size() != y.size() || x.size() < form.params.size()) return best;
  Residuals residuals;
  residuals.form = &form;
  residuals.x = &x;
  residuals.y = &y;
  for (const auto& start : form.starts(x, y)) {
    Eigen::VectorXd u(static_cast<Eigen::Index>(start.size()));
    bool valid_start = true;
    for (size_t k = 0; k < start.size(); ++k) {
      if (form.positive[k] && !(start[k] > 0)) valid_start = false;
      u[static_cast<Eigen::Index>(k)] = form.positive[k] ? std::log(start[k]) : start[k];
    }
    if (!valid_start) continue;
    Eigen::NumericalDiff<Residuals, Eigen::Central> numeric_jacobian(residuals);
    Eigen::LevenbergMarquardt<Eigen::NumericalDiff<Residuals, Eigen::Central>> lm(numeric_jacobian);
    lm.parameters.maxfev = 4000;
    lm.parameters.xtol = 1e-12;
    lm.parameters.ftol = 1e-12;
    lm.minimize(u);
    auto p = Residuals::to_params(form, u);
    double sse = sum_squared_error(form, p, x, y);
    if (std::isfinite(sse) && sse < best.sse) {
      best.params = p;
      best.sse = sse;
      best.ok = true;
    }
  }
  return best;
}

}  // namespace lmlab::analysis
