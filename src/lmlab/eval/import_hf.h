// Import of a Hugging Face `LlamaForCausalLM`, `GPT2LMHeadModel` (import_gpt2.h) or
// `MixtralForCausalLM` (import_mixtral.h) directory (config.json, model.safetensors or shards
// listed in model.safetensors.index.json, tokenizer.json) as an lmlab checkpoint directory that
// `lmlab eval`, `lmlab generate` and `train.init_from` read: the inverse of the exports (same
// name tables), so export then import is bit-identical. Every refusal is a UserError naming the
// file (docs/interop.md).
#pragma once
#include <nlohmann/json.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/model/model_config.h"
#include "lmlab/model/safetensors.h"

namespace lmlab::eval {

// config.json, read key by key: a value of the expected JSON type, or the transformers default
// when the key is absent or null; every problem is a UserError naming the file.
class HfConfig {
 public:
  HfConfig(nlohmann::json config, std::string file);
  const std::string& file() const { return file_; }
  // architectures[0], else model_type, else "(none)".
  std::string architecture() const;
  bool has(const char* key) const { return c_.contains(key) && !c_[key].is_null(); }
  template <class T>
  T get(const char* key, std::optional<T> fallback = std::nullopt) const;
  [[noreturn]] void refuse(const std::string& problem) const { throw_user_error(file_, problem); }
  // rope_theta at the top level (transformers 4) or in rope_parameters (transformers 5), else
  // `fallback`; refuses any RoPE scaling (rope_scaling or a rope_type other than "default").
  double rope_theta(double fallback) const;

 private:
  nlohmann::json c_;
  std::string file_;
};

template <class T>
T HfConfig::get(const char* key, std::optional<T> fallback) const {
  if (!has(key)) {
    if (!fallback) refuse(std::string("'") + key + "' is missing");
    return *fallback;
  }
  const nlohmann::json& v = c_[key];
  const bool ok = std::is_same_v<T, bool> ? v.is_boolean()
                  : std::is_integral_v<T> ? v.is_number_integer()
                  : std::is_floating_point_v<T> ? v.is_number()
                                                : v.is_string();
  if (!ok) refuse(std::string("'") + key + "' has the wrong type: " + v.dump());
  return v.get<T>();
}

// config.json -> our [model] section, by architecture: LlamaForCausalLM (dense llama),
// GPT2LMHeadModel (arch gpt2), MixtralForCausalLM (llama + type moe). `file` names config.json
// in errors, which also refuse what lmlab cannot express (each architecture's header lists it).
ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& file);
// The defaults of the keys a Llama-like config may omit (LlamaConfig's; MixtralConfig has others).
struct HfLlamaDefaults {
  int64_t kv_heads = 0;  // 0: num_attention_heads
  double norm_eps = 1e-6, rope_theta = 10000.0;
  int64_t max_position_embeddings = 2048;
};
// The Llama part of it (also the attention and norms of a Mixtral).
ModelConfig llama_config_from_hf(const HfConfig& c, const HfLlamaDefaults& d = {});

// Every tensor of the directory's weights, the file each came from and the file that lists
// them all (the index or model.safetensors), for errors.
struct HfWeights {
  model::NamedTensors tensors;
  std::map<std::string, std::string> file_of;
  std::string source;
  // The file `name` came from, or `source` for a tensor that is not there.
  std::string file_for(const std::string& name) const;
};
// model.safetensors.index.json (its shards) when present, else model.safetensors. UserError for
// a missing shard or one that lacks a tensor the index puts in it.
HfWeights read_hf_weights(const std::string& dir);

// Hands out the tensors of HfWeights by HF name, each once, shape checked, as contiguous
// float32 on the CPU; check_all_taken reports a tensor no one asked for. Errors name the file
// the tensor is in (or the index / model.safetensors for one that is missing).
class HfTensorTaker {
 public:
  explicit HfTensorTaker(const HfWeights& w);
  bool has(const std::string& name) const { return by_name_.count(name) > 0; }
  torch::Tensor take(const std::string& name, const std::vector<int64_t>& shape);
  // Marks a tensor lmlab does not store (e.g. a causal-mask buffer) as dealt with.
  void skip(const std::string& name) { taken_.insert(name); }
  void check_all_taken(const std::string& model_name) const;

 private:
  const HfWeights& w_;
  std::map<std::string, torch::Tensor> by_name_;
  std::set<std::string> taken_;
};

// HF-named tensors -> ours (float32), checked against the config's layout. May change `cfg`
// where only the tensors tell (a GPT-2 whose biases are all zero: model.bias = false).
model::NamedTensors from_hf_tensors(ModelConfig& cfg, const HfWeights& weights);

struct ImportSummary {
  ModelConfig model;
  std::string architecture;  // the HF class read
  size_t n_tensors = 0;
};
// Reads `input`, writes the checkpoint directory `output` through AtomicDir (a temporary
// sibling renamed into place). UserError when `output` and `input` overlap, or when `output` is a
// non-empty directory that is not a checkpoint and `force` is false (common/output_dir.h).
ImportSummary import_hf(const std::string& input, const std::string& output, bool force = false);

}  // namespace lmlab::eval
