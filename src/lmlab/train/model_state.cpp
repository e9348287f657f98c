// Named parameters <-> safetensors contents, with shape checks.
#include "lmlab/train/model_state.h"

#include <map>

#include "lmlab/common/error.h"

namespace lmlab::train {

model::NamedTensors model_state(const torch::nn::Module& module) {
  model::NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value().detach());
  return out;
}

void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  auto params = module.named_parameters();
  for (auto& item : params) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) throw_user_error(file, "has no tensor '" + item.key() + "' (written by a different model config?)");
    if (it->second.sizes() != item.value().sizes())
      throw_user_error(file, "tensor '" + item.key() + "' has shape " + c10::str(it->second.sizes()) +
                                 ", the model needs " + c10::str(item.value().sizes()));
    item.value().copy_(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty()) throw_user_error(file, "has tensor '" + by_name.begin()->first + "' that the model does not");
}

}  // namespace lmlab::train
