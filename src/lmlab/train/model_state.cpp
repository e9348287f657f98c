// Named parameters and buffers <-> safetensors contents, with shape checks. Buffers are the
// routing tables drawn from the seed or the data (MaskMoE's mask, hash routing's table): a
// checkpoint must carry them, or a model loaded elsewhere would route differently.
#include "lmlab/train/model_state.h"

#include <map>

#include "lmlab/common/error.h"

namespace lmlab::train {

model::NamedTensors model_state(const torch::nn::Module& module) {
  model::NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value().detach());
  for (const auto& item : module.named_buffers()) out.emplace_back(item.key(), item.value().detach());
  return out;
}

void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());
  for (auto& [key, value] : targets) {
    auto it = by_name.find(key);
    if (it == by_name.end()) throw_user_error(file, "has no tensor '" + key + "' (written by a different model config?)");
    if (it->second.sizes() != value.sizes())
      throw_user_error(file, "tensor '" + key + "' has shape " + c10::str(it->second.sizes()) +
                                 ", the model needs " + c10::str(value.sizes()));
    value.copy_(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty()) throw_user_error(file, "has tensor '" + by_name.begin()->first + "' that the model does not");
}

}  // namespace lmlab::train
