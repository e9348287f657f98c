// RNG states in checkpoints, train.init_from and device choice (see engine_state.h).
#include "lmlab/train/engine_state.h"

#include <iostream>
#include <mutex>

#include "lmlab/common/error.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/model_state.h"

namespace lmlab::train {

namespace {
constexpr const char* kRngStateName = "rng_state.cpu";
constexpr const char* kCudaRngStateName = "rng_state.cuda";  // this rank's device
}  // namespace

void append_rng_states(model::NamedTensors& state, const torch::Device& device) {
  state.emplace_back(kRngStateName, at::detail::getDefaultCPUGenerator().get_state());
  if (device.is_cuda()) state.emplace_back(kCudaRngStateName, at::globalContext().defaultGenerator(device).get_state());
}

void restore_rng_states(const model::NamedTensors& state, const torch::Device& device) {
  for (const auto& [name, t] : state)
    if (name == kRngStateName || (name == kCudaRngStateName && device.is_cuda())) {
      at::Generator gen = name == kRngStateName ? at::detail::getDefaultCPUGenerator()
                                                : at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(t);
    }
}

void init_from_checkpoint(torch::nn::Module& module, const std::string& from, bool main) {
  const std::string ckpt = resolve_checkpoint(from);
  PartialLoad p = load_model_state_partial(module, read_checkpoint(ckpt).model, ckpt + "/model.safetensors");
  if (!main) return;
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 6; ++i) s += (i ? ", " : "") + names[i];
    return names.size() > 6 ? s + ", ..." : s;
  };
  std::cerr << "init_from " << ckpt << ": copied " << p.copied.size() << " tensors";
  if (!p.kept_init.empty()) std::cerr << "; " << p.kept_init.size() << " keep their init (" << list(p.kept_init) << ")";
  if (!p.unused.empty()) std::cerr << "; " << p.unused.size() << " unused (" << list(p.unused) << ")";
  std::cerr << "\n";
}

torch::Device pick_device(const std::string& choice, int64_t local_rank) {
  bool cuda = choice == "cuda" || (choice == "auto" && torch::cuda::is_available());
  if (!cuda) return torch::kCPU;
  if (!torch::cuda::is_available()) throw UserError("run.device = \"cuda\" but no CUDA device is available");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
}

}  // namespace lmlab::train
