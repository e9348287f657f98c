// Which device a command runs on, decided one way for training, eval and generation.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::train {

// The accepted choices, in the order --help lists them: "auto", "cpu", "cuda".
const std::vector<std::string>& device_choices();

// "cpu" -> CPU; "cuda" -> CUDA device local_rank % device_count (one GPU per local rank);
// "auto" -> "cuda" when a CUDA device is available, else CPU. UserError for "cuda" without a
// CUDA device and for any other choice (with the closest valid one).
torch::Device pick_device(const std::string& choice, int64_t local_rank = 0);

}  // namespace lmlab::train
