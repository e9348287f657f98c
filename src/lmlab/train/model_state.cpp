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

// Floating point loads into floating point (a bf16 export into fp32 weights is fine); an integer
// or boolean tensor must match exactly: copy_ would convert any of them silently into garbage.
bool same_kind(torch::ScalarType file, torch::ScalarType model) {
  if (c10::isFloatingType(file) || c10::isFloatingType(model)) return c10::isFloatingType(file) && c10::isFloatingType(model);
  return file == model;
}

// Copies every tensor of `state` the module has by name (shapes must match). A module name
// missing from `state` is an error when `strict`, else it keeps its initial value.
PartialLoad copy_by_name(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file,
                         bool strict) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters()) targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) targets.emplace_back(item.key(), item.value());
  torch::NoGradGuard no_grad;
  PartialLoad r;
  for (auto& [key, value] : targets) {
    auto it = by_name.find(key);
    if (it == by_name.end()) {
      if (strict) throw_user_error(file, "has no tensor '" + key + "' (written by a different model config?)");
      r.kept_init.push_back(key);
      continue;
    }
    if (!same_kind(it->second.scalar_type(), value.scalar_type()))
      throw_user_error(file, "tensor '" + key + "' is " + c10::toString(it->second.scalar_type()) + ", the model needs " +
                                 c10::toString(value.scalar_type()) + " (a relabelled or foreign file?)");
    if (it->second.sizes() != value.sizes())
      throw_user_error(file, "tensor '" + key + "' has shape " + c10::str(it->second.sizes()) + ", the model needs " +
                                 c10::str(value.sizes()));
    value.copy_(it->second);
    r.copied.push_back(key);
    by_name.erase(it);
  }
  for (const auto& [key, value] : by_name) r.unused.push_back(key);  // in name order
  return r;
}

}  // namespace

void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file) {
  PartialLoad r = copy_by_name(module, state, file, /*strict=*/true);
  if (!r.unused.empty()) throw_user_error(file, "has tensor '" + r.unused.front() + "' that the model does not");
}

PartialLoad load_model_state_partial(torch::nn::Module& module, const model::NamedTensors& state,
                                     const std::string& file) {
  PartialLoad r = copy_by_name(module, state, file, /*strict=*/false);
  if (r.copied.empty()) throw_user_error(file, "shares no tensor name with the model, so nothing can be initialised from it");
  return r;
}

}  // namespace lmlab::train
