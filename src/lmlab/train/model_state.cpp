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

namespace {

std::vector<std::pair<std::string, torch::Tensor>> named_state(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());
  return targets;
}

void check_shape(const std::string& file, const std::string& key, const torch::Tensor& have, const torch::Tensor& need) {
  if (have.sizes() != need.sizes())
    throw_user_error(file, "tensor '" + key + "' has shape " + c10::str(have.sizes()) + ", the model needs " +
                               c10::str(need.sizes()));
}

}  // namespace

void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& [key, value] : named_state(module)) {
    auto it = by_name.find(key);
    if (it == by_name.end()) throw_user_error(file, "has no tensor '" + key + "' (written by a different model config?)");
    check_shape(file, key, it->second, value);
    value.copy_(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty()) throw_user_error(file, "has tensor '" + by_name.begin()->first + "' that the model does not");
}



PartialLoad load_model_state_partial(torch::nn::Module& module, const model::NamedTensors& state,
                                     const std::string& file) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  PartialLoad r;
  for (auto& [key, value] : named_state(module)) {
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      r.kept_init.push_back(key);
      continue;
    }
    check_shape(file, key, it->second, value);
    value.copy_(it->second);
    r.copied.push_back(key);
    by_name.erase(it);
  }
  for (const auto& [key, value] : by_name) r.unused.push_back(key);
  if (r.copied.empty()) throw_user_error(file, "shares no tensor name with the model, so nothing can be initialised from it");
  return r;
}

}  // namespace lmlab::train
