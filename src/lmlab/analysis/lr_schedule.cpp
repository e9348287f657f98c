// Learning-rate schedule lookups for the schedule-tied trajectories (formulas in lr_schedule.h).
#include "lmlab/analysis/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "lmlab/common/error.h"

namespace lmlab::analysis {

LrSchedule::LrSchedule(std::vector<double> lr, double floor_rate) : lr_(std::move(lr)), floor_(floor_rate) {
  if (lr_.empty()) throw UserError("learning-rate schedule: no steps");
  prefix_.assign(lr_.size() + 1, 0.0);
  for (size_t s = 0; s < lr_.size(); ++s) {
    if (!std::isfinite(lr_[s]) || lr_[s] < 0)
      throw UserError("learning-rate schedule: step " + std::to_string(s) + " has rate " + std::to_string(lr_[s]));
    prefix_[s + 1] = prefix_[s] + lr_[s];
  }
  peak_step_ = std::max_element(lr_.begin(), lr_.end()) - lr_.begin();
  peak_ = lr_[static_cast<size_t>(peak_step_)];
}

double LrSchedule::lr(double x) const {
  const double last = static_cast<double>(lr_.size() - 1);
  if (x <= 0) return lr_.front();
  if (x >= last) return lr_.back();
  const auto s = static_cast<size_t>(std::floor(x));
  const double f = x - static_cast<double>(s);
  return lr_[s] + f * (lr_[s + 1] - lr_[s]);
}

double LrSchedule::area(double x) const {
  if (x <= 0) return 0;
  const auto n = static_cast<double>(lr_.size());
  if (x >= n) return prefix_.back() + (x - n) * lr_.back();
  const auto s = static_cast<size_t>(std::floor(x));
  return prefix_[s] + (x - static_cast<double>(s)) * lr_[s];
}

double LrSchedule::anneal(double x) const {
  if (!decays() || x <= static_cast<double>(peak_step_)) return 0;
  return (peak_ - lr(x)) / (peak_ - floor_);
}

}  // namespace lmlab::analysis
