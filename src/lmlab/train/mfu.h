// Model FLOPs utilisation: the share of the hardware's peak that the model's own FLOPs use,
//   MFU = FLOPs per unit · units per second / (peak FLOP/s per device · devices)
// with FLOPs per unit from the task (6N + 12LTd per token for the decoders, docs/model.md).
// The peak: train.peak_tflops on CUDA (default 989, H100 SXM bf16 dense); on the CPU, where
// that default means nothing, the fp32 matrix-multiply rate this process measures once at
// start-up (measured_matmul_flops), unless train.peak_tflops was set to something else.
#pragma once
#include <cstdint>
#include <string>

namespace lmlab::train {

// 0 when there is no peak (<= 0) or nothing was timed.
double model_flops_utilisation(double flops_per_unit, double units_per_s, double peak_flops_per_device,
                               int64_t devices);

// One measurement: C = A B of n x n fp32 matrices (2 n^3 FLOPs each) with the current intra-op
// and BLAS threads, repeated in `rounds` rounds of at least `round_seconds` each; the fastest
// round's FLOP/s (the least disturbed by other work on the machine).
double time_matmul_flops(int64_t n, int rounds, double round_seconds);

// time_matmul_flops(512, 5, 0.03), measured on the first call and cached for the process
// (about 0.2 s). 512: the size of a transformer's mid-sized GEMMs on the CPU, large enough
// for BLAS to reach its steady rate, small enough to fit the L2/L3 caches like the real ones.
double measured_matmul_flops();

// The peak MFU divides by, per device: `peak_tflops` · 1e12 on CUDA, and on the CPU the
// measured rate when `peak_tflops` is the default (`default_peak_tflops`). `source` is set to
// a phrase for the log ("measured fp32 matmul, 512^3" or "train.peak_tflops").
double mfu_peak_flops(bool cuda, double peak_tflops, double default_peak_tflops, std::string* source = nullptr);

}  // namespace lmlab::train
