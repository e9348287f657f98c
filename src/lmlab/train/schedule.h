// Learning-rate schedules: linear warm-up, then
//   cosine:   lr_t = min + (max - min) * (1 + cos(pi * p)) / 2,  p = (t - W) / (S - W)
//   wsd:      warm-up, stable at max, then a linear decay to min over the last
//             decay_fraction * S steps (Hu et al., MiniCPM, 2024)
//   constant: max after warm-up
// with min = min_lr_ratio * max. Warm-up: lr_t = max * (t + 1) / W for t < W, so step 0
// already takes a (small) step.
#pragma once
#include <cstdint>

#include "lmlab/train/train_config.h"

namespace lmlab::train {

double learning_rate(const TrainConfig& cfg, int64_t step);

}  // namespace lmlab::train
