// A run's learning-rate schedule as the Temporal Scaling Law's schedule-tied trajectories see
// it (docs/scaling.md): the learning rate of every optimizer step, read from the run's config
// (tools/cmd_scaling.cpp computes it with train::learning_rate; this library has no libtorch).
// With x a (possibly fractional) number of optimizer steps already taken:
//   lr(x)     = the schedule at x, linear between steps, the last step's rate beyond the end
//   area(x)   = sum of the rates of the steps taken, sum_{s < x} lr_s (linear within a step):
//               the "cumulative learning rate"
//   anneal(x) = 0 up to the peak (warm-up), then (peak - lr(x)) / (peak - floor): how far the
//               decay towards its floor (train.lr * train.min_lr_ratio) has gone, 0 -> 1. For
//               warm-up W + cosine over S steps this is the cosine phase
//               (1 - cos(pi * (x - W) / (S - W))) / 2 at every whole step x >= W.
#pragma once
#include <cstdint>
#include <vector>

namespace lmlab::analysis {

class LrSchedule {
 public:
  LrSchedule() = default;
  // lr[s] = learning rate of step s = 0..S-1; `floor_rate` = the rate the decay ends at. UserError
  // when empty or not all finite and >= 0.
  LrSchedule(std::vector<double> lr, double floor_rate);

  bool empty() const { return lr_.empty(); }
  double lr(double x) const;
  double area(double x) const;
  double anneal(double x) const;
  // True when the rate falls after its peak, so anneal() is not identically 0.
  bool decays() const { return peak_ > floor_; }
  int64_t peak_step() const { return peak_step_; }

 private:
  std::vector<double> lr_;
  std::vector<double> prefix_;  // prefix_[s] = sum of lr_[0..s-1]
  int64_t peak_step_ = 0;
  double peak_ = 0, floor_ = 0;
};

}  // namespace lmlab::analysis
