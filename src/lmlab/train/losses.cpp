// Cross-entropy, MiLe and focal losses (formulas in losses.h and docs/mile.md).
// MiLe follows the official code exactly, including its choice of denominator: alpha and the
// final mean run over ALL positions, ignored ones included, whereas CE averages over the
// non-ignored positions only. The two agree when nothing is ignored and gamma = 0.
#include "lmlab/train/losses.h"

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/train/softmax_ce.h"

namespace lmlab::train {

namespace F = torch::nn::functional;

torch::Tensor token_entropy(const torch::Tensor& logits, int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  const int64_t n = logits.size(0);
  const int64_t step = chunk_rows > 0 ? chunk_rows : std::max<int64_t>(n, 1);
  auto entropy = torch::empty({n}, logits.options().dtype(torch::kFloat32));
  // Per chunk: (rows, V) float32 probabilities and their -p ln p, freed before the next chunk,
  // so the peak extra memory is two chunk x V buffers instead of more full (N, V) tensors.
  for (int64_t start = 0; start < n; start += step) {
    const int64_t end = std::min(n, start + step);
    auto p = torch::softmax(logits.slice(0, start, end).detach().to(torch::kFloat32), -1);
    p.clamp_(1e-8, 1.0);  // the official code clamps before the log, which biases H slightly up
    entropy.slice(0, start, end).copy_(torch::special::entr(p).sum(-1));  // entr(x) = -x ln x
  }
  return entropy;
}

torch::Tensor position_weights(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& ce,
                               const RankMean& rank_mean) {
  torch::NoGradGuard no_grad;
  torch::Tensor w;  // (N)
  if (cfg.type == "mile") {
    w = (1.0 + token_entropy(logits, cfg.entropy_chunk)).pow(cfg.gamma);
  } else if (cfg.type == "focal") {
    // CE = 0 at ignored positions gives pt = 1 and w = 0 there (for gamma > 0), as upstream.
    w = (1.0 - torch::exp(-ce.detach().to(torch::kFloat32))).pow(cfg.gamma);
  } else {
    throw UserError("[train.loss] type '" + cfg.type + "' has no position weights (use mile or focal)");
  }
  // alpha = 1 / mean(w) over every position on this rank, then the mean of the per-rank alphas
  // (not 1 / global mean), as the official code's all_reduce(alpha) / world_size does. The
  // clamp only matters when every weight is 0 (focal on a perfectly predicted or fully ignored
  // batch), where upstream would produce inf * 0 = NaN; here the loss is then 0.
  auto alpha = 1.0 / w.mean().clamp_min(1e-12);
  if (rank_mean) alpha = rank_mean(alpha);
  return alpha * w;
}

torch::Tensor lm_loss(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& targets,
                      const RankMean& rank_mean) {
  return lm_loss_parts(cfg, logits, targets, rank_mean).loss;
}

LmLossParts lm_loss_parts(const LossConfig& cfg, const torch::Tensor& logits, const torch::Tensor& targets,
                          const RankMean& rank_mean) {
  TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && logits.size(0) == targets.size(0),
              "lm_loss: logits must be (N, V) and targets (N)");
  if (cfg.gamma < 0) throw UserError("[train.loss] gamma must be >= 0, got " + std::to_string(cfg.gamma));
  if (cfg.type == "ce") {
    auto loss = softmax_cross_entropy_applies(logits)
                    ? softmax_cross_entropy(logits, targets)
                    : F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex));
    return {loss, loss.detach()};
  }
  const std::vector<std::string>& types = loss_type_names();
  if (std::find(types.begin(), types.end(), cfg.type) == types.end()) {
    throw UserError("[train.loss] unknown type '" + cfg.type + "'" + did_you_mean(cfg.type, types));
  }
  // (N), 0 at ignored positions; the only tensor that carries gradient back to the logits.
  auto ce = F::cross_entropy(
      logits, targets, F::CrossEntropyFuncOptions().ignore_index(kIgnoreIndex).reduction(torch::kNone));
  auto weights = position_weights(cfg, logits, ce, rank_mean);  // (N), detached
  auto kept = targets.ne(kIgnoreIndex).sum().clamp_min(1);
  return {(weights * ce).mean(), (ce.detach().sum() / kept).to(ce.dtype())};
}

}  // namespace lmlab::train
