#include <torch/torch.h>
#ifdef LMLAB_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include "commands.h"

namespace lmlab::cli {

std::string version_text() {
  std::string out = "lmlab " LMLAB_VERSION "\n";
  out += "libtorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
         "." + std::to_string(TORCH_VERSION_PATCH) + "\n";
  if (torch::cuda::is_available()) {
    std::string name = "unknown device";
#ifdef LMLAB_WITH_CUDA
    name = at::cuda::getDeviceProperties(0)->name;
#endif
    out += "CUDA: available, " + std::to_string(torch::cuda::device_count()) + " device(s), " + name + "\n";
  } else {
#ifdef LMLAB_WITH_CUDA
    out += "CUDA: built with CUDA, but no device is available\n";
#else
    out += "CUDA: not available (CPU build)\n";
#endif
  }
  return out;
}

}  // namespace lmlab::cli
