// Sizes checked before anything is allocated (issue #23 class 3). From the config alone, an
// estimate of what training needs:
//   bytes = 16 P (fp32 weights, gradients, AdamW's two moments)
//         + 4 B T [ L (16 d + 2 h_heads T + 3 h_ffn_active) + 3 V ]      (activations, fp32)
//   P     = the decoder's exact count (param_count.h), or for the encoder and a decoder its
//           constructor would refuse the upper bound
//           V d (x2 untied) + max_seq_len d + L (4 d^2 + FFN)   (FFN: 3 d h per expert, CartesianMoE x2)
// A config whose estimate exceeds the memory it would train in (the CUDA device's, else the
// host's) is refused, naming the key whose default would shrink it most, before a model is
// built or data read. LMLAB_NO_SIZE_CHECK=1 skips it.
// Decoder and encoder families; vit and cnn are not estimated (their sizes come from images).
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/train/experiment.h"

namespace lmlab::train {

struct SizeEstimate {
  double params = 0;  // the decoder's exact parameter count, else an upper bound
  double bytes = 0;   // parameters, gradients, optimizer state and activations
};

SizeEstimate estimate_training_size(const Experiment& exp);

// The memory a run trains in, and how the refusal names it.
struct MemoryLimit {
  double bytes = 0;  // 0: unknown, nothing is refused
  std::string what;  // "this machine's 23.5 GiB of memory"
};
// `bytes` (0: the machine's physical memory) as host memory.
MemoryLimit host_memory(double bytes = 0);
// Where run.device = `device_choice` trains: on a CUDA build with a device, for "auto" and
// "cuda", that device's total memory ("CUDA device 0's 79.1 GiB of device memory (NVIDIA H100
// 80GB HBM3)"; the rank's device: LOCAL_RANK modulo the device count); else host_memory().
MemoryLimit training_memory(const std::string& device_choice);

// UserError "<key> = <value>: training this config needs about X, more than <limit.what> ..."
// when the estimate exceeds the limit: training_memory(exp.run.device) unless one is given.
void check_training_size(const Experiment& exp);
void check_training_size(const Experiment& exp, const MemoryLimit& limit);

}  // namespace lmlab::train
