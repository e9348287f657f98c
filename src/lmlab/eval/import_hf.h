// Import of a Hugging Face `LlamaForCausalLM` directory (config.json, model.safetensors or
// shards listed in model.safetensors.index.json, tokenizer.json) as an lmlab checkpoint
// directory that `lmlab eval`, `lmlab generate` and `train.init_from` read: the inverse of
// export_hf.h (same name table, hf_llama_layout), so export then import is bit-identical.
// Every refusal is a UserError naming the file (docs/interop.md).
#pragma once
#include <nlohmann/json.hpp>
#include <map>
#include <string>

#include "lmlab/model/model_config.h"
#include "lmlab/model/safetensors.h"

namespace lmlab::eval {

// config.json -> our [model] section (dense llama). `file` names config.json in errors:
// another architecture, an activation other than silu, rope_scaling, a head_dim other than
// hidden_size / num_attention_heads, or different attention_bias and mlp_bias.
ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& file);

// Every tensor of the directory's weights, the file each came from and the file that lists
// them all (the index or model.safetensors), for errors.
struct HfWeights {
  model::NamedTensors tensors;
  std::map<std::string, std::string> file_of;
  std::string source;
};
// model.safetensors.index.json (its shards) when present, else model.safetensors. UserError for
// a missing shard or one that lacks a tensor the index puts in it.
HfWeights read_hf_weights(const std::string& dir);

// HF-named tensors -> ours (float32), checked against the config's layout.
model::NamedTensors from_hf_tensors(const ModelConfig& cfg, const HfWeights& weights);

struct ImportSummary {
  ModelConfig model;
  size_t n_tensors = 0;
};
// Reads `input`, writes the checkpoint directory `output` through AtomicDir (a temporary
// sibling renamed into place). UserError when `output` and `input` overlap, or when `output` is a
// non-empty directory that is not a checkpoint and `force` is false (common/output_dir.h).
ImportSummary import_hf(const std::string& input, const std::string& output, bool force = false);

}  // namespace lmlab::eval
