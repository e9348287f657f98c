// MAPE and R^2 over paired predicted / actual values.
#include "lmlab/analysis/fit_metrics.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace lmlab::analysis {

namespace {
void check_sizes(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("fit metrics: predicted and actual differ in length");
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double mape(const std::vector<double>& predicted, const std::vector<double>& actual) {
  check_sizes(predicted, actual);
  if (actual.empty()) return kNaN;
  double sum = 0;
  for (size_t k = 0; k < actual.size(); ++k) sum += std::abs(predicted[k] - actual[k]) / std::abs(actual[k]);
  return 100.0 * sum / static_cast<double>(actual.size());
}

double r_squared(const std::vector<double>& predicted, const std::vector<double>& actual) {
  check_sizes(predicted, actual);
  if (actual.size() < 2) return kNaN;
  double mean = 0;
  for (double a : actual) mean += a / static_cast<double>(actual.size());
  double ss_res = 0, ss_tot = 0;
  for (size_t k = 0; k < actual.size(); ++k) {
    ss_res += (predicted[k] - actual[k]) * (predicted[k] - actual[k]);
    ss_tot += (actual[k] - mean) * (actual[k] - mean);
  }
  return ss_tot > 0 ? 1.0 - ss_res / ss_tot : kNaN;
}

}  // namespace lmlab::analysis
