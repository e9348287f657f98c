// What the engine keeps besides weights and optimizer moments: the RNG states that make a
// resumed run continue exactly, train.init_from, and where to run.
#pragma once
#include <torch/torch.h>

#include <string>

#include "lmlab/model/safetensors.h"

namespace lmlab::train {

// Dropout draws from the CPU generator (and on CUDA from the device's): their states go into
// optimizer.safetensors as "rng_state.cpu" / "rng_state.cuda".
void append_rng_states(model::NamedTensors& optimizer_state, const torch::Device& device);
void restore_rng_states(const model::NamedTensors& optimizer_state, const torch::Device& device);

// train.init_from: the matching weights of another run (a dense run for a DSMoE one), the rest
// as initialised. Lists (on `main`) what was not copied, since a typo would otherwise go unnoticed.
void init_from_checkpoint(torch::nn::Module& module, const std::string& from, bool main);

// run.device: auto | cpu | cuda; device `local_rank` of several GPUs.
torch::Device pick_device(const std::string& choice, int64_t local_rank);

}  // namespace lmlab::train
