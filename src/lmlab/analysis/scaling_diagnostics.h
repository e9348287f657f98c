// Where a Temporal Scaling Law prediction's error comes from (docs/scaling.md, "where the error
// comes from"). On the steps after the cut-off that were actually run:
//   law          our MAPE if every parameter took its value fitted to that step's per-position
//                losses — the position law's own error (no extrapolation at all)
//   full fit     every parameter's chosen trajectory form refitted on all steps (observed and
//                later): the error the forms cannot avoid even with the whole curve
//   per parameter  a_k alone refitted on all steps (the others extrapolated from the cut-off);
//                a_k alone at its per-step values; a_k alone extrapolated (the others at their
//                per-step values: the error a_k's extrapolation causes by itself); and the error
//                of a_k's extrapolated trajectory against its per-step values
// A parameter that alone extrapolated keeps most of the error is the one that extrapolates badly.
// (With a free additive constant, as every position law here has, the least-squares fit's mean
// over positions equals the data's mean, so "law" is 0 up to the solver's tolerance.)
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/analysis/temporal_scaling.h"

namespace lmlab::analysis {

struct ParamDiagnostic {
  std::string param, form;
  std::vector<double> cutoff_coefficients, full_coefficients;  // the trajectory fitted to the cut-off / to all steps
  double mean_abs_error = 0;  // mean |a_k(t) extrapolated - a_k fitted per step| over the later steps
  double relative_error = 0;  // that / mean |a_k fitted per step|
  double mape_full_this = 0;    // MAPE (%) with only this parameter refitted on all steps
  double mape_actual_this = 0;  // MAPE (%) with only this parameter at its per-step values
  double mape_only_extrapolated = 0;  // MAPE (%) with every other parameter at its per-step values
};

struct ScalingDiagnostics {
  std::vector<StepFit> later_fits;  // the position law at each later step with an actual loss
  double mape_extrapolated = 0;     // = the result's own MAPE
  double mape_law = 0, mape_full_fit = 0;
  std::vector<ParamDiagnostic> params;
};

// NaN MAPEs when no later step has an actual loss. UserError when a refit fails.
ScalingDiagnostics diagnose_parameters(const ScalingResult& result, const std::vector<EvalPoint>& evals);

std::string diagnostics_table(const ScalingDiagnostics& d);
nlohmann::json diagnostics_json(const ScalingDiagnostics& d);

}  // namespace lmlab::analysis
