// Token-level training losses: cross-entropy and its reweighted variants (MiLe, focal).
// Pinned so the trainer (issue #4) and the losses (issue #6) can land independently.
#pragma once
#include <torch/torch.h>

#include <functional>

#include "lmlab/train/loss_config.h"

namespace lmlab::train {

constexpr int64_t kIgnoreIndex = -100;

// Averages a scalar over data-parallel ranks (identity on one rank). MiLe and focal average
// their normalisation alpha = 1/mean(w) across ranks with it, as the official code does.
using RankMean = std::function<torch::Tensor(const torch::Tensor&)>;

// logits: (N, V) float, targets: (N) int64 with kIgnoreIndex at ignored positions.
// Returns the scalar loss to backpropagate. For "ce" it is the mean over non-ignored positions.
torch::Tensor lm_loss(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& targets,
                      const RankMean& rank_mean = nullptr);

}  // namespace lmlab::train
