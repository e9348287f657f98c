// MFU and the CPU's measured matmul peak (see mfu.h).
#include "lmlab/train/mfu.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>

namespace lmlab::train {

double model_flops_utilisation(double flops_per_unit, double units_per_s, double peak_flops_per_device,
                               int64_t devices) {
  const double peak = peak_flops_per_device * static_cast<double>(devices);
  if (peak <= 0 || units_per_s <= 0 || flops_per_unit <= 0) return 0.0;
  return flops_per_unit * units_per_s / peak;
}

double time_matmul_flops(int64_t n, int rounds, double round_seconds) {
  torch::NoGradGuard no_grad;
  torch::Generator gen = at::detail::createCPUGenerator(1234);  // the training RNG stays untouched
  const torch::Tensor a = torch::randn({n, n}, gen, torch::kFloat32);
  const torch::Tensor b = torch::randn({n, n}, gen, torch::kFloat32);
  torch::Tensor c = torch::empty({n, n}, torch::kFloat32);
  torch::mm_out(c, a, b);  // warm-up: BLAS threads started, pages touched
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    int64_t calls = 0;
    double seconds = 0;
    do {
      torch::mm_out(c, a, b);
      ++calls;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (seconds < round_seconds);
    best = std::max(best, flops * static_cast<double>(calls) / seconds);
  }
  return best;
}

double measured_matmul_flops() {
  static const double flops = time_matmul_flops(512, 5, 0.03);
  return flops;
}

double mfu_peak_flops(bool cuda, double peak_tflops, double default_peak_tflops, std::string* source) {
  if (cuda || peak_tflops != default_peak_tflops) {
    if (source) *source = "train.peak_tflops";
    return peak_tflops * 1e12;
  }
  if (source) *source = "measured fp32 matmul, 512^3";
  return measured_matmul_flops();
}

}  // namespace lmlab::train
