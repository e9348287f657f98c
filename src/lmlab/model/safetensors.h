// safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the raw
// little-endian tensor bytes. Shared by checkpoints (#4) and the HF export (#7).
// Reading validates the header, dtypes, shapes and offsets: a truncated or malformed file is a
// UserError naming the file and what is wrong, never a crash.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lmlab::model {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;  // in file order

// Writes atomically (temp file + rename). Tensors are stored contiguous, from the CPU.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

}  // namespace lmlab::model
