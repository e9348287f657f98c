// A model's parameters and buffers as named tensors (what model.safetensors holds) and back.
#pragma once
#include <torch/torch.h>

#include <string>

#include "lmlab/model/safetensors.h"

namespace lmlab::train {

model::NamedTensors model_state(const torch::nn::Module& module);
// Copies every parameter and buffer from `state`; UserError naming `file` on a missing, extra or
// mis-shaped tensor (a checkpoint from a different config).
void load_model_state(torch::nn::Module& module, const model::NamedTensors& state, const std::string& file);

}  // namespace lmlab::train
