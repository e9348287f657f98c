// A model's parameters and buffers as named tensors (what model.safetensors holds) and back.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lmlab/model/safetensors.h"

namespace lmlab::train {

model::NamedTensors model_state(const torch::nn::Module& module);
// Copies every parameter and buffer from `state`; UserError naming `file` on a missing, extra or
// mis-shaped tensor (a checkpoint from a different config).
void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file);

// Non-strict load for starting one model from another's weights (train.init_from): copies the
// tensors present in both by name. A shared name with a different shape is a UserError naming
// `file`, and so is a state sharing no name at all (nothing would be initialised from it).
struct PartialLoad {
  std::vector<std::string> copied, kept_init, unused;  // model names copied / not in state; state names not in model
};
PartialLoad load_model_state_partial(torch::nn::Module& module, const model::NamedTensors& state,
                                     const std::string& file);

}  // namespace lmlab::train
