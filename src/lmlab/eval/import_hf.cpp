// Hugging Face directory -> lmlab checkpoint directory (see import_hf.h): config.json, weights,
// tokenizer, and the Llama mapping; GPT-2 and Mixtral in import_gpt2.cpp / import_mixtral.cpp.
#include "lmlab/eval/import_hf.h"

#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/config/config.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/eval/import_gpt2.h"
#include "lmlab/eval/import_mixtral.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/experiment.h"

namespace lmlab::eval {

namespace {

nlohmann::json read_json_file(const std::string& path) {
  if (!file_exists(path)) throw_user_error(path, "missing");
  return parse_json(read_file(path), SourcePos{path, 1, 1});
}

// A post-processor that adds no token to an encoded text: none, ByteLevel (offsets only), a
// TemplateProcessing whose single-text template is only the text ("$A"; transformers may write
// one when it saves a tokenizer), or a Sequence of these.
bool adds_no_tokens(const nlohmann::json& pp) {
  if (pp.is_null()) return true;
  const std::string type = pp.value("type", std::string());
  if (type == "ByteLevel") return true;
  if (type == "TemplateProcessing") {
    const nlohmann::json single = pp.value("single", nlohmann::json::array());
    for (const nlohmann::json& piece : single)
      if (!piece.is_object() || !piece.contains("Sequence")) return false;
    return single.is_array();
  }
  if (type == "Sequence") {
    for (const nlohmann::json& p : pp.value("processors", nlohmann::json::array()))
      if (!adds_no_tokens(p)) return false;
    return true;
  }
  return false;
}

// The tokenizer must be one lmlab's Tokenizer encodes exactly as HF does: byte-level BPE
// (Tokenizer::load's checks) and no post-processor that adds tokens lmlab would not add.
void check_tokenizer(const std::string& path, const ModelConfig& cfg) {
  if (!file_exists(path)) throw_user_error(path, "missing (lmlab needs a byte-level BPE tokenizer.json)");
  const nlohmann::json root = read_json_file(path);
  const nlohmann::json pp = root.value("post_processor", nlohmann::json(nullptr));
  if (!adds_no_tokens(pp))
    throw_user_error(path, "post_processor '" + pp.value("type", std::string("?")) +
                               "' adds tokens lmlab's tokenizer would not; only null, ByteLevel or a template of "
                               "the text alone import");
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

HfConfig::HfConfig(nlohmann::json config, std::string file) : c_(std::move(config)), file_(std::move(file)) {
  if (!c_.is_object()) refuse("expected a JSON object");
}

std::string HfConfig::architecture() const {
  if (c_.contains("architectures") && c_["architectures"].is_array() && !c_["architectures"].empty() &&
      c_["architectures"][0].is_string())
    return c_["architectures"][0].get<std::string>();
  return c_.value("model_type", std::string("(none)"));
}

double HfConfig::rope_theta(double fallback) const {
  if (has("rope_scaling")) {
    const nlohmann::json& s = c_["rope_scaling"];
    if (!s.is_object() || s.value("rope_type", s.value("type", std::string())) != "default")
      refuse("rope_scaling is not supported (lmlab's RoPE is unscaled)");
  }
  double theta = get<double>("rope_theta", fallback);
  if (has("rope_parameters")) {
    if (!c_["rope_parameters"].is_object()) refuse("'rope_parameters' is not an object");
    const HfConfig p(c_["rope_parameters"], file_);
    if (p.get<std::string>("rope_type", std::string("default")) != "default")
      refuse("rope_parameters.rope_type '" + p.get<std::string>("rope_type") + "' is not supported (lmlab's RoPE is unscaled)");
    const double inner = p.get<double>("rope_theta", theta);
    if (has("rope_theta") && inner != theta) refuse("rope_theta and rope_parameters.rope_theta differ");
    theta = inner;
  }
  return theta;
}

ModelConfig llama_config_from_hf(const HfConfig& c, const HfLlamaDefaults& d) {
  const std::string act = c.get<std::string>("hidden_act", std::string("silu"));
  if (act != "silu") c.refuse("hidden_act '" + act + "' is not supported (only silu)");
  ModelConfig m;
  m.d_model = c.get<int64_t>("hidden_size");
  m.n_layer = c.get<int64_t>("num_hidden_layers");
  m.n_head = c.get<int64_t>("num_attention_heads");
  m.vocab_size = c.get<int64_t>("vocab_size");
  m.ffn.hidden = c.get<int64_t>("intermediate_size");
  if (m.n_head <= 0 || m.d_model % m.n_head != 0)
    c.refuse("hidden_size " + std::to_string(m.d_model) + " is not a multiple of num_attention_heads");
  const int64_t kv = c.get<int64_t>("num_key_value_heads", d.kv_heads > 0 ? d.kv_heads : m.n_head);
  if (kv <= 0 || m.n_head % kv != 0) c.refuse("num_attention_heads is not a multiple of num_key_value_heads " + std::to_string(kv));
  m.n_kv_head = kv == m.n_head ? 0 : kv;  // lmlab spells "one kv head per query head" as 0
  if (c.get<int64_t>("head_dim", m.head_dim()) != m.head_dim())
    c.refuse("head_dim other than hidden_size / num_attention_heads is not supported");
  m.norm_eps = c.get<double>("rms_norm_eps", d.norm_eps);
  m.rope_theta = c.rope_theta(d.rope_theta);
  m.max_seq_len = c.get<int64_t>("max_position_embeddings", d.max_position_embeddings);
  m.tie_embeddings = c.get<bool>("tie_word_embeddings", false);
  m.init_std = c.get<double>("initializer_range", 0.02);
  m.bias = c.get<bool>("attention_bias", false);
  if (c.get<bool>("mlp_bias", false) != m.bias)
    c.refuse("attention_bias and mlp_bias differ; lmlab has one bias switch for both");
  return m;
}

ModelConfig model_config_from_hf(const nlohmann::json& config, const std::string& file) {
  const HfConfig c(config, file);
  const std::string arch = c.architecture();
  if (arch == "LlamaForCausalLM" || arch == "llama") return llama_config_from_hf(c);
  if (arch == "GPT2LMHeadModel" || arch == "gpt2") return gpt2_config_from_hf(c);
  if (arch == "MixtralForCausalLM" || arch == "mixtral") return mixtral_config_from_hf(c);
  c.refuse("unsupported architecture '" + arch + "' (LlamaForCausalLM, GPT2LMHeadModel and MixtralForCausalLM import)");
}

std::string HfWeights::file_for(const std::string& name) const {
  auto it = file_of.find(name);
  return it != file_of.end() ? it->second : source;
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

HfTensorTaker::HfTensorTaker(const HfWeights& w) : w_(w) {
  for (const auto& [name, t] : w.tensors) by_name_[name] = t;
}

torch::Tensor HfTensorTaker::take(const std::string& name, const std::vector<int64_t>& shape) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw_user_error(w_.file_for(name), "no tensor '" + name + "'");
  if (it->second.sizes().vec() != shape)
    throw_user_error(w_.file_for(name), "tensor '" + name + "' has shape " + shape_text(it->second.sizes().vec()) +
                                            ", expected " + shape_text(shape));
  taken_.insert(name);
  return it->second.detach().to(torch::kCPU, torch::kFloat).contiguous();
}

void HfTensorTaker::check_all_taken(const std::string& model_name) const {
  for (const auto& [name, t] : w_.tensors)
    if (!taken_.count(name)) throw_user_error(w_.file_for(name), "tensor '" + name + "' has no place in a " + model_name + " model");
}

model::NamedTensors from_hf_tensors(ModelConfig& cfg, const HfWeights& weights) {
  if (cfg.arch == "gpt2") return from_hf_gpt2_tensors(cfg, weights);
  if (cfg.ffn.type == "moe") return from_hf_mixtral_tensors(cfg, weights);
  HfTensorTaker taker(weights);
  model::NamedTensors ours;
  for (const HfTensorPlace& p : hf_llama_layout(cfg, cfg.ffn.hidden)) ours.emplace_back(p.ours, taker.take(p.hf, p.shape));
  taker.check_all_taken("Llama");
  return ours;
}

ImportSummary import_hf(const std::string& input, const std::string& output, bool force) {
  check_output_dir({{"--output", output}, {{"--input", input}}, train::checkpoint_files(), force});
  const std::string config_path = input + "/config.json";
  const nlohmann::json config = read_json_file(config_path);
  Experiment exp;
  exp.model = model_config_from_hf(config, config_path);
  exp.data.seq_len = exp.model.max_seq_len;  // lmlab eval's default context: the whole window
  check_tokenizer(input + "/tokenizer.json", exp.model);
  train::CheckpointData data;
  data.model = from_hf_tensors(exp.model, read_hf_weights(input));
  data.config_toml = config::to_toml(config::Schema::of(exp));
  data.trainer = {{"step", 0}, {"task", exp.run.task}, {"imported_from", input}};
  data.tokenizer_path = input + "/tokenizer.json";
  train::write_checkpoint_dir(output, data);
  return {exp.model, HfConfig(config, config_path).architecture(), data.model.size()};
}

}  // namespace lmlab::eval
