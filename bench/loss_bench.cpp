// Step-time (and on CUDA, peak-memory) overhead of MiLe and focal over cross-entropy:
// forward + backward of train::lm_loss on random (N, V) logits with ~5% ignored targets.
// Measures the loss alone, an upper bound on the overhead in a full training step.
//
//   loss_bench [--device cpu|cuda] [--rows N] [--vocab V] [--iters K] [--warmup W]
//              [--bf16] [--chunk C]
// e.g. GPU, GPT-2-small-like step slice: loss_bench --device cuda --rows 16384 --vocab 50304 --bf16
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#ifdef LMLAB_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "lmlab/train/losses.h"

namespace {

struct Options {
  std::string device = "cpu";
  int64_t rows = 2048, vocab = 8192, iters = 10, warmup = 2, chunk = 1024;
  bool bf16 = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    auto next = [&]() -> std::string {
      if (k + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++k];
    };
    if (a == "--device") o.device = next();
    else if (a == "--rows") o.rows = std::stoll(next());
    else if (a == "--vocab") o.vocab = std::stoll(next());
    else if (a == "--iters") o.iters = std::stoll(next());
    else if (a == "--warmup") o.warmup = std::stoll(next());
    else if (a == "--chunk") o.chunk = std::stoll(next());
    else if (a == "--bf16") o.bf16 = true;
    else throw std::runtime_error("unknown option " + a);
  }
  return o;
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

struct Timing {
  double ms = 0;
  double peak_mib = -1;  // CUDA only
};

Timing time_loss(const Options& o, const torch::Device& device, const std::string& type) {
  lmlab::LossConfig cfg;
  cfg.type = type;
  cfg.entropy_chunk = o.chunk;
  torch::manual_seed(0);
  auto dtype = o.bf16 ? torch::kBFloat16 : torch::kFloat32;
  auto logits = (torch::randn({o.rows, o.vocab}, torch::TensorOptions().device(device)) * 3).to(dtype);
  logits.requires_grad_(true);
  auto targets = torch::randint(0, o.vocab, {o.rows}, torch::TensorOptions().device(device).dtype(torch::kInt64));
  targets.masked_fill_(torch::rand({o.rows}, torch::TensorOptions().device(device)) < 0.05, lmlab::train::kIgnoreIndex);
  auto step = [&] {
    logits.mutable_grad() = torch::Tensor();
    lmlab::train::lm_loss(cfg, logits, targets).backward();
  };
  for (int64_t k = 0; k < o.warmup; ++k) step();
  synchronize(device);
#ifdef LMLAB_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
  auto start = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < o.iters; ++k) step();
  synchronize(device);
  Timing t;
  t.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
         static_cast<double>(o.iters);
#ifdef LMLAB_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    t.peak_mib = static_cast<double>(stats.allocated_bytes[0].peak) / (1 << 20);
  }
#endif
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parse(argc, argv);
    torch::Device device(o.device == "cuda" ? torch::kCUDA : torch::kCPU, o.device == "cuda" ? 0 : -1);
    if (device.is_cuda() && !torch::cuda::is_available()) throw std::runtime_error("CUDA is not available");
    std::printf("loss_bench: device %s, logits (%lld, %lld) %s, entropy chunk %lld, %lld iters\n", o.device.c_str(),
                static_cast<long long>(o.rows), static_cast<long long>(o.vocab), o.bf16 ? "bf16" : "fp32",
                static_cast<long long>(o.chunk), static_cast<long long>(o.iters));
    Timing ce = time_loss(o, device, "ce");
    std::printf("%-6s %10s %10s %12s\n", "loss", "ms/step", "overhead", "peak MiB");
    for (const char* type : {"ce", "mile", "focal"}) {
      Timing t = std::strcmp(type, "ce") == 0 ? ce : time_loss(o, device, type);
      std::string peak = t.peak_mib < 0 ? "-" : std::to_string(static_cast<int64_t>(t.peak_mib));
      std::printf("%-6s %10.3f %9.1f%% %12s\n", type, t.ms, 100.0 * (t.ms / ce.ms - 1.0), peak.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loss_bench: %s\n", e.what());
    return 1;
  }
}
