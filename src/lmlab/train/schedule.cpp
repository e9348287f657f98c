// Warm-up + cosine / WSD / constant learning rate (formulas in schedule.h).
#include "lmlab/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace lmlab::train {

double learning_rate(const TrainConfig& cfg, int64_t step) {
  const double max_lr = cfg.lr, min_lr = cfg.lr * cfg.min_lr_ratio;
  if (step < cfg.warmup_steps) return max_lr * static_cast<double>(step + 1) / static_cast<double>(cfg.warmup_steps);
  if (cfg.schedule == "constant") return max_lr;
  if (cfg.schedule == "wsd") {
    const double decay_steps = std::max(1.0, std::round(cfg.decay_fraction * static_cast<double>(cfg.steps)));
    const double decay_start = static_cast<double>(cfg.steps) - decay_steps;
    if (static_cast<double>(step) < decay_start) return max_lr;
    double p = std::min(1.0, (static_cast<double>(step) - decay_start + 1) / decay_steps);
    return max_lr + (min_lr - max_lr) * p;
  }
  const double span = std::max<int64_t>(1, cfg.steps - cfg.warmup_steps);
  double p = std::min(1.0, static_cast<double>(step - cfg.warmup_steps) / span);
  return min_lr + (max_lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * p));
}

}  // namespace lmlab::train
