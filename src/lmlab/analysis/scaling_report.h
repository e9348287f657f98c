// Output of `lmlab scaling fit`: the printed table, the JSON results and the gnuplot PNG.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lmlab/analysis/temporal_scaling.h"

namespace lmlab::analysis {

// Human-readable summary: the per-parameter trajectory choices, the predicted vs actual mean
// loss at each later step, and MAPE / R^2 of our law and both baselines.
std::string scaling_table(const ScalingResult& result);

// Everything in the table plus the per-step position-law fits and fitted coefficients.
// NaN metrics (nothing to score) are written as null.
nlohmann::json scaling_json(const ScalingResult& result);

// Observed, actual-after and predicted (ours, power law, exponential) mean loss vs step as a PNG
// written atomically. Returns false (after a warning on stderr) when gnuplot is missing or fails.
bool write_scaling_plot(const ScalingResult& result, const std::vector<EvalPoint>& evals, const std::string& png);

}  // namespace lmlab::analysis
