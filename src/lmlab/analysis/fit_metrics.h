// Prediction-error metrics used to score loss-curve extrapolation.
#pragma once
#include <vector>

namespace lmlab::analysis {

// Mean absolute percentage error, in percent: 100/n * sum |pred - actual| / |actual|.
// NaN for empty input.
double mape(const std::vector<double>& predicted, const std::vector<double>& actual);

// Coefficient of determination 1 - SS_res / SS_tot, SS_tot about the mean of `actual`.
// NaN when there are fewer than 2 points or the actual values are all equal.
double r_squared(const std::vector<double>& predicted, const std::vector<double>& actual);

}  // namespace lmlab::analysis
