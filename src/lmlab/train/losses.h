// Token-level training losses: cross-entropy and its reweighted variants (MiLe, focal).
// Pinned so the trainer (issue #4) and the losses (issue #6) can land independently.
//
// MiLe (Su et al., arXiv 2310.19531, official code utils/trainer.py MiLeLoss), per position j of N:
//   CE_j = cross_entropy(z_j, y_j)  (0 at ignored positions)
//   p_j  = clamp(softmax(stopgrad(z_j)), 1e-8, 1),  H_j = -sum_v p_j[v] ln p_j[v]   (nats)
//   w_j  = (1 + H_j)^gamma,  alpha = rank_mean(1 / mean_j w_j)   (mean over ALL N positions)
//   loss = (1/N) sum_j alpha * w_j * CE_j                         (ALL N positions in the mean)
// Focal: the same with w_j = (1 - exp(-CE_j))^gamma. w and alpha carry no gradient.
// See docs/mile.md.
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
// Returns the scalar loss to backpropagate. For "ce" it is the mean over non-ignored positions;
// for "mile" and "focal" the mean over all N positions (the official code's denominator).
torch::Tensor lm_loss(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& targets,
                      const RankMean& rank_mean = nullptr);

// The loss and, from the same per-position cross-entropy, the plain CE (mean over non-ignored
// positions, detached): what the trainer logs as "ce", comparable across loss types where the
// weighted "loss" of MiLe and focal is not.
struct LmLossParts {
  torch::Tensor loss, ce;
};
LmLossParts lm_loss_parts(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& targets,
                          const RankMean& rank_mean = nullptr);

// Entropy in nats of clamp(softmax(logits), 1e-8, 1) per row, without gradient: (N, V) -> (N)
// float32. Works on `chunk_rows` rows at a time (0 = all) so the temporaries stay chunk x V.
torch::Tensor token_entropy(const torch::Tensor& logits, int64_t chunk_rows);

// The detached per-position factor alpha * w_j that MiLe / focal multiply CE_j by: (N) float32.
// `ce` is the per-position cross-entropy (N) with 0 at ignored positions (used by focal).
// mean(alpha * w) == 1 on a single rank.
torch::Tensor position_weights(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& ce,
                               const RankMean& rank_mean = nullptr);

}  // namespace lmlab::train
