// Sizes checked before anything is allocated (issue #23 class 3). From the config alone, an
// upper-bound estimate of what training needs:
//   bytes = 16 P (fp32 weights, gradients, AdamW's two moments)
//         + 4 B T [ L (16 d + 2 h_heads T + 3 h_ffn_active) + 3 V ]      (activations, fp32)
//   P     = V d (x2 untied) + max_seq_len d + L (4 d^2 + FFN)   (FFN: 3 d h per expert, CartesianMoE x2)
// A config whose estimate exceeds the machine's memory is refused, naming the key whose default
// would shrink it most, before a model is built or data read. LMLAB_NO_SIZE_CHECK=1 skips it.
// Decoder and encoder families; vit and cnn are not estimated (their sizes come from images).
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/train/experiment.h"

namespace lmlab::train {

struct SizeEstimate {
  double params = 0;  // an upper bound on the parameter count
  double bytes = 0;   // parameters, gradients, optimizer state and activations
};

SizeEstimate estimate_training_size(const Experiment& exp);

// UserError "<key> = <value>: training this config needs about X, more than this machine's Y of
// memory ..." when the estimate exceeds `memory_bytes` (0: the machine's physical memory).
void check_training_size(const Experiment& exp, double memory_bytes = 0);

}  // namespace lmlab::train
