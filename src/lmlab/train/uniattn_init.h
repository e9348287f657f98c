// UniAttn's closed-form initialisation of the compensation W_c (arXiv 2502.00439; the
// official utils/initialization.py, docs/uniattn.md):
//   O1[l] = mean over calibration samples of the BASE model's residual stream after attention
//           at layer l, x + Attn(RMSNorm(x)), position by position ((T, C), not concatenated)
//   for each softmax-reusing layer l, in order, with the W_c of the earlier ones already set:
//     X  = mean RMSNorm_in(x) at layer l of the UNIFIED model   (T, C)
//     O2 = mean residual stream after attention there, W_c(l) = 0
//     W_c(l) = pinv(X) (O1[l] - O2)       (C, C); blocks.l.wc.weight = W_c(l)^T
// so each W_c also absorbs the error accumulated before its layer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/model/transformer.h"

namespace lmlab::train {

struct UniattnInitOptions {
  std::string checkpoint;              // the base model (a checkpoint or run directory)
  std::string data;                    // instruction JSON/JSONL: the calibration samples
  std::string output;                  // a checkpoint directory usable as train.init_from
  int64_t samples = 256;               // calibration samples (the first N records)
  int64_t seq_len = 0;                 // samples padded/cut to this length; 0 = the base's data.seq_len
  double rcond = 1e-10;                // pinv: singular values below rcond x the largest are dropped
  std::vector<std::string> overrides;  // the SuperBlock layout, e.g. model.attention.unify_group=2
};

// Per softmax-reusing layer: the residual-stream MSE to the base model, over every calibration
// sample and position, with every W_c = 0 and with the fitted W_c's.
struct CompensationFit {
  int64_t layer = 0;
  double mse_zero = 0, mse_fitted = 0;
};

// Calibration ids (N, T): Alpaca-template prompt + response + <|endoftext|> of the first N
// records, cut to T (even inside a long prompt) and padded with <|endoftext|> (no mask: the official code pads and attends to the padding too).
// UserError when the tokenizer has ids beyond the base model's `vocab_size`.
torch::Tensor calibration_ids(const std::string& tokenizer_path, const std::string& data, int64_t samples,
                              int64_t seq_len, int64_t vocab_size);

// Fits the W_c of `unified` (its compensation layers, in order) against `base` on `ids`, in
// float64, and returns the per-layer MSEs. Both models in eval mode, same weights elsewhere.
std::vector<CompensationFit> fit_compensation(model::TransformerImpl& base, model::TransformerImpl& unified,
                                              const torch::Tensor& ids, double rcond);

// The command: loads the base, builds the unified model (base weights, W_c = 0), fits W_c,
// writes `output` (config.toml with the layout, model.safetensors, tokenizer.json) atomically.
std::vector<CompensationFit> run_uniattn_init(const UniattnInitOptions& o);

}  // namespace lmlab::train
