// Hugging Face Llama directory -> lmlab checkpoint directory (see import_hf.h).
#include "lmlab/eval/import_hf.h"

#include <optional>
#include <set>
#include <type_traits>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/config/config.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/experiment.h"

namespace lmlab::eval {

namespace {

nlohmann::json read_json_file(const std::string& path) {
  if (!file_exists(path)) throw_user_error(path, "missing");
  return parse_json(read_file(path), SourcePos{path, 1, 1});
}

// A config.json value of the expected JSON type, or `fallback` when the key is absent/null
// (transformers' LlamaConfig defaults).
template <class T>
T value_of(const nlohmann::json& c, const char* key, const std::string& file, std::optional<T> fallback) {
  if (!c.contains(key) || c[key].is_null()) {
    if (!fallback) throw_user_error(file, std::string("'") + key + "' is missing");
    return *fallback;
  }
  const nlohmann::json& v = c[key];
  const bool ok = std::is_same_v<T, bool> ? v.is_boolean()
                  : std::is_integral_v<T> ? v.is_number_integer()
                  : std::is_floating_point_v<T> ? v.is_number()
                                                : v.is_string();
  if (!ok) throw_user_error(file, std::string("'") + key + "' has the wrong type: " + v.dump());
  return v.get<T>();
}

std::string architecture_of(const nlohmann::json& c) {
  if (c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty() &&
      c["architectures"][0].is_string())
    return c["architectures"][0].get<std::string>();
  return c.value("model_type", std::string("(none)"));
}

// The tokenizer must be one lmlab's Tokenizer encodes exactly as HF does: byte-level BPE
// (Tokenizer::load's checks) and no post-processor that adds tokens lmlab would not add.
void check_tokenizer(const std::string& path, const ModelConfig& cfg) {
  if (!file_exists(path)) throw_user_error(path, "missing (lmlab needs a byte-level BPE tokenizer.json)");
  const nlohmann::json root = read_json_file(path);
  const nlohmann::json pp = root.value("post_processor", nlohmann::json(nullptr));
  if (!pp.is_null() && pp.value("type", std::string()) != "ByteLevel")
    throw_user_error(path, "post_processor '" + pp.value("type", std::string("?")) +
                               "' adds tokens lmlab's tokenizer would not; only null or ByteLevel import");
  uint32_t vocab = 0;
  try {
    vocab = tokenizer::Tokenizer::load(path).vocab_size();
  } catch (const UserError& e) {
    throw UserError(std::string(e.what()) + " (not a byte-level BPE tokenizer lmlab can load)");
  }
  if (vocab > static_cast<uint64_t>(cfg.vocab_size))
    throw_user_error(path, "has " + std::to_string(vocab) + " tokens, more than the model's vocab_size " +
                               std::to_string(cfg.vocab_size));
}

}  // namespace

ModelConfig model_config_from_hf(const nlohmann::json& c, const std::string& file) {
  if (!c.is_object()) throw_user_error(file, "expected a JSON object");
  const std::string arch = architecture_of(c);
  if (arch != "LlamaForCausalLM" && arch != "llama")
    throw_user_error(file, "unsupported architecture '" + arch + "' (only LlamaForCausalLM imports)");
  const std::string act = value_of<std::string>(c, "hidden_act", file, "silu");
  if (act != "silu") throw_user_error(file, "hidden_act '" + act + "' is not supported (only silu)");
  if (c.contains("rope_scaling") && !c["rope_scaling"].is_null())
    throw_user_error(file, "rope_scaling is not supported (lmlab's RoPE is unscaled)");
  ModelConfig m;
  m.d_model = value_of<int64_t>(c, "hidden_size", file, std::nullopt);
  m.n_layer = value_of<int64_t>(c, "num_hidden_layers", file, std::nullopt);
  m.n_head = value_of<int64_t>(c, "num_attention_heads", file, std::nullopt);
  m.vocab_size = value_of<int64_t>(c, "vocab_size", file, std::nullopt);
  m.ffn.hidden = value_of<int64_t>(c, "intermediate_size", file, std::nullopt);
  if (m.n_head <= 0 || m.d_model % m.n_head != 0)
    throw_user_error(file, "hidden_size " + std::to_string(m.d_model) + " is not a multiple of num_attention_heads");
  const int64_t kv = value_of<int64_t>(c, "num_key_value_heads", file, m.n_head);
  m.n_kv_head = kv == m.n_head ? 0 : kv;  // lmlab spells "one kv head per query head" as 0
  if (value_of<int64_t>(c, "head_dim", file, m.head_dim()) != m.head_dim())
    throw_user_error(file, "head_dim other than hidden_size / num_attention_heads is not supported");
  m.norm_eps = value_of<double>(c, "rms_norm_eps", file, 1e-6);
  m.rope_theta = value_of<double>(c, "rope_theta", file, 10000.0);
  m.max_seq_len = value_of<int64_t>(c, "max_position_embeddings", file, 2048);
  m.tie_embeddings = value_of<bool>(c, "tie_word_embeddings", file, false);
  m.init_std = value_of<double>(c, "initializer_range", file, 0.02);
  m.bias = value_of<bool>(c, "attention_bias", file, false);
  if (value_of<bool>(c, "mlp_bias", file, false) != m.bias)
    throw_user_error(file, "attention_bias and mlp_bias differ; lmlab has one bias switch for both");
  return m;
}

HfWeights read_hf_weights(const std::string& dir) {
  HfWeights w;
  auto add = [&](const std::string& file) {
    for (auto& [name, t] : model::load_safetensors(file)) {
      w.file_of[name] = file;
      w.tensors.emplace_back(name, t);
    }
  };
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (!file_exists(index_path)) {
    w.source = dir + "/model.safetensors";
    add(w.source);  // load_safetensors names the file when it is missing
    return w;
  }
  w.source = index_path;
  const nlohmann::json index = read_json_file(index_path);
  if (!index.contains("weight_map") || !index["weight_map"].is_object())
    throw_user_error(index_path, "no \"weight_map\" object");
  std::set<std::string> shards;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    if (!shard.is_string()) throw_user_error(index_path, "weight_map['" + name + "'] is not a file name");
    shards.insert(shard.get<std::string>());
  }
  for (const std::string& shard : shards) {
    if (!file_exists(dir + "/" + shard)) throw_user_error(dir + "/" + shard, "missing shard (listed in " + index_path + ")");
    add(dir + "/" + shard);
  }
  for (const auto& [name, shard] : index["weight_map"].items())
    if (!w.file_of.count(name) || w.file_of[name] != dir + "/" + shard.get<std::string>())
      throw_user_error(dir + "/" + shard.get<std::string>(), "has no tensor '" + name + "' (listed in " + index_path + ")");
  return w;
}

model::NamedTensors from_hf_tensors(const ModelConfig& cfg, const HfWeights& weights) {
  return remap_llama_tensors(hf_llama_layout(cfg, cfg.ffn.hidden), false, weights.tensors,
                             [&](const std::string& name) {
                               auto it = weights.file_of.find(name);
                               return it != weights.file_of.end() ? it->second : weights.source;
                             });
}

ImportSummary import_hf(const std::string& input, const std::string& output, bool force) {
  check_output_dir({{"--output", output}, {{"--input", input}}, train::checkpoint_files(), force});
  const std::string config_path = input + "/config.json";
  Experiment exp;
  exp.model = model_config_from_hf(read_json_file(config_path), config_path);
  exp.data.seq_len = exp.model.max_seq_len;  // lmlab eval's default context: the whole window
  check_tokenizer(input + "/tokenizer.json", exp.model);
  train::CheckpointData data;
  data.model = from_hf_tensors(exp.model, read_hf_weights(input));
  data.config_toml = config::to_toml(config::Schema::of(exp));
  data.trainer = {{"step", 0}, {"task", exp.run.task}, {"imported_from", input}};
  data.tokenizer_path = input + "/tokenizer.json";
  train::write_checkpoint_dir(output, data);
  return {exp.model, data.model.size()};
}

}  // namespace lmlab::eval
