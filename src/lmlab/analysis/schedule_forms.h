// Parameter trajectories tied to the run's learning-rate schedule (docs/scaling.md), over the
// same normalised time t as the free forms of curve_fit.h (t = trained tokens / tokens at the
// last observed step; lmlab trains a fixed number of tokens per step, so x = t * steps_per_t
// is the number of optimizer steps taken):
//   "piecewise-cosine"  c0 + c1*ln(t) + c2*anneal(x)   — anneal is 0 through the warm-up and the
//                        cosine phase (1 - cos(pi*p))/2 of the decay after it: continuous at the
//                        phase boundary, and the part of the change that the decay drives
//   "lr-area"           c0*(area(x)/area(x_1))^c1 + c2 — a power law in the cumulative learning
//                        rate instead of in time (x_1 = the last observed step)
#pragma once
#include <memory>
#include <vector>

#include "lmlab/analysis/curve_fit.h"
#include "lmlab/analysis/lr_schedule.h"

namespace lmlab::analysis {

std::vector<std::string> schedule_form_names();

// Both forms above for `schedule`; piecewise-cosine only when the schedule decays.
std::vector<CurveForm> schedule_trajectory_forms(const std::shared_ptr<const LrSchedule>& schedule, double steps_per_t);

}  // namespace lmlab::analysis
