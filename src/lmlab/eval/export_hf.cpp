// lmlab -> Hugging Face Llama: tensor names, shapes and the JSON files (mapping in export_hf.h).
#include "lmlab/eval/export_hf.h"

#include <map>
#include <set>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/eval/export_gpt2.h"
#include "lmlab/eval/export_mixtral.h"
#include "lmlab/tokenizer/model.h"

namespace lmlab::eval {

namespace {

nlohmann::json id_or_null(const std::optional<HfSpecialToken>& t) {
  return t ? nlohmann::json(t->id) : nlohmann::json(nullptr);
}

nlohmann::json content_or_null(const std::optional<HfSpecialToken>& t) {
  return t ? nlohmann::json(t->content) : nlohmann::json(nullptr);
}

}  // namespace

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "(" + s + ")";
}

void check_hf_exportable(const ModelConfig& cfg) {
  if (cfg.ffn.type == "moe") return check_mixtral_exportable(cfg);
  if (cfg.ffn.type != "dense")
    throw UserError("export hf: only dense models export (and type \"moe\" as Mixtral); this model has [model.ffn] type = \"" +
                    cfg.ffn.type + "\" (no Llama, GPT-2 or Mixtral equivalent)");
  if (cfg.arch == "gpt2") check_gpt2_exportable(cfg);
}

namespace {

void check_llama(const ModelConfig& cfg) {
  check_hf_exportable(cfg);
  if (cfg.ffn.type != "dense")
    throw UserError("export hf: only dense models export as LlamaForCausalLM; this model has [model.ffn] type = \"" +
                    cfg.ffn.type + "\"");
  if (cfg.arch != "llama")
    throw UserError("export hf: only LLaMA-style models export as LlamaForCausalLM; this model has [model] arch = \"" +
                    cfg.arch + "\"");
}

}  // namespace

std::vector<HfTensorPlace> hf_llama_layout(const ModelConfig& cfg, int64_t intermediate) {
  const int64_t C = cfg.d_model, V = cfg.vocab_size, Dh = cfg.head_dim(), F = intermediate;
  std::vector<HfTensorPlace> out;
  auto linear = [&](const std::string& ours, const std::string& hf, int64_t rows, int64_t cols) {
    out.push_back({ours + ".weight", hf + ".weight", {rows, cols}});
    if (cfg.bias) out.push_back({ours + ".bias", hf + ".bias", {rows}});
  };
  out.push_back({"tok_emb.weight", "model.embed_tokens.weight", {V, C}});
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string o = "blocks." + std::to_string(l) + ".", h = "model.layers." + std::to_string(l) + ".";
    out.push_back({o + "attn_norm.weight", h + "input_layernorm.weight", {C}});
    linear(o + "attn.wq", h + "self_attn.q_proj", cfg.n_head * Dh, C);
    linear(o + "attn.wk", h + "self_attn.k_proj", cfg.kv_heads() * Dh, C);
    linear(o + "attn.wv", h + "self_attn.v_proj", cfg.kv_heads() * Dh, C);
    linear(o + "attn.wo", h + "self_attn.o_proj", C, cfg.n_head * Dh);
    out.push_back({o + "ffn_norm.weight", h + "post_attention_layernorm.weight", {C}});
    linear(o + "ffn.w1", h + "mlp.gate_proj", F, C);
    linear(o + "ffn.w3", h + "mlp.up_proj", F, C);
    linear(o + "ffn.w2", h + "mlp.down_proj", C, F);
  }
  out.push_back({"norm.weight", "model.norm.weight", {C}});
  if (!cfg.tie_embeddings) out.push_back({"lm_head.weight", "lm_head.weight", {V, C}});
  return out;
}

model::NamedTensors remap_llama_tensors(const std::vector<HfTensorPlace>& layout, bool to_hf,
                                        const model::NamedTensors& in,
                                        const std::function<std::string(const std::string&)>& where) {
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : in) by_name[name] = t;
  std::set<std::string> used;
  model::NamedTensors out;
  for (const HfTensorPlace& p : layout) {
    const std::string& from = to_hf ? p.ours : p.hf;
    auto it = by_name.find(from);
    if (it == by_name.end()) throw_user_error(where(from), "no tensor '" + from + "'");
    if (it->second.sizes().vec() != p.shape)
      throw_user_error(where(from), "tensor '" + from + "' has shape " + shape_text(it->second.sizes().vec()) +
                                        ", expected " + shape_text(p.shape));
    used.insert(from);
    out.emplace_back(to_hf ? p.hf : p.ours, it->second.detach().to(torch::kCPU, torch::kFloat).contiguous());
  }
  for (const auto& [name, t] : in)
    if (!used.count(name)) throw_user_error(where(name), "tensor '" + name + "' has no place in a Llama model");
  return out;
}

model::NamedTensors to_hf_tensors(const ModelConfig& cfg, const model::NamedTensors& ours) {
  check_llama(cfg);
  int64_t intermediate = -1;  // a missing w1 is reported by the remap below
  for (const auto& [name, t] : ours)
    if (name == "blocks.0.ffn.w1.weight") intermediate = t.size(0);
  return remap_llama_tensors(hf_llama_layout(cfg, intermediate), true, ours,
                             [](const std::string&) { return std::string("export hf"); });
}

HfSpecialTokens hf_special_tokens(const tokenizer::Tokenizer& tok) {
  HfSpecialTokens sp;
  auto find = [&](std::initializer_list<const char*> names) -> std::optional<HfSpecialToken> {
    for (const char* n : names)
      if (auto id = tok.special_id(n)) return HfSpecialToken{n, *id};
    return std::nullopt;
  };
  sp.bos = sp.eos = find({"<|endoftext|>"});
  sp.pad = find({"<|pad|>", "<pad>", "[PAD]"});
  return sp;
}

nlohmann::json hf_llama_config(const ModelConfig& cfg, int64_t intermediate_size, const HfSpecialTokens& sp) {
  check_llama(cfg);
  nlohmann::json config = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", cfg.d_model},
      {"intermediate_size", intermediate_size},
      {"num_hidden_layers", cfg.n_layer},
      {"num_attention_heads", cfg.n_head},
      {"num_key_value_heads", cfg.kv_heads()},
      {"head_dim", cfg.head_dim()},
      {"hidden_act", "silu"},
      {"rms_norm_eps", cfg.norm_eps},
      {"rope_theta", cfg.rope_theta},
      {"max_position_embeddings", cfg.max_seq_len},
      {"vocab_size", cfg.vocab_size},
      {"tie_word_embeddings", cfg.tie_embeddings},
      {"attention_bias", cfg.bias},
      {"mlp_bias", cfg.bias},
      {"attention_dropout", 0.0},
      {"initializer_range", cfg.init_std},
      {"torch_dtype", "float32"},
      {"use_cache", true},
  };
  config.update(hf_special_token_ids(sp));
  return config;
}

nlohmann::json hf_special_token_ids(const HfSpecialTokens& sp) {
  return {{"bos_token_id", id_or_null(sp.bos)}, {"eos_token_id", id_or_null(sp.eos)}, {"pad_token_id", id_or_null(sp.pad)}};
}

nlohmann::json hf_generation_config(const HfSpecialTokens& sp) {
  nlohmann::json config = hf_special_token_ids(sp);
  config["do_sample"] = false;
  return config;
}

nlohmann::json hf_tokenizer_config(const ModelConfig& cfg, const HfSpecialTokens& sp) {
  // No BOS/EOS is added to encoded text: lmlab's data puts <|endoftext|> after each document,
  // and `lmlab generate` / `lmlab eval` encode prompts without one. Spaces before punctuation
  // are kept on decode (clean_up_tokenization_spaces), so decode(encode(x)) == x as ours.
  return {{"tokenizer_class", "PreTrainedTokenizerFast"},
          {"bos_token", content_or_null(sp.bos)},
          {"eos_token", content_or_null(sp.eos)},
          {"pad_token", content_or_null(sp.pad)},
          {"unk_token", nullptr},
          {"add_bos_token", false},
          {"add_eos_token", false},
          {"clean_up_tokenization_spaces", false},
          {"model_max_length", cfg.max_seq_len}};
}

const std::vector<std::string>& hf_export_files() {
  static const std::vector<std::string> files = {"model.safetensors",     "config.json",    "generation_config.json",
                                                 "tokenizer_config.json", "tokenizer.json", "reference_logits.safetensors"};
  return files;
}

size_t write_hf_export(const std::string& dir, const ModelConfig& cfg, const model::NamedTensors& ours,
                       const std::string& tokenizer_path) {
  if (tokenizer_path.empty()) throw UserError("export hf: the checkpoint has no tokenizer.json");
  const bool gpt2 = cfg.arch == "gpt2", mixtral = cfg.ffn.type == "moe";
  model::NamedTensors hf = mixtral ? to_hf_mixtral_tensors(cfg, ours)
                           : gpt2  ? to_hf_gpt2_tensors(cfg, ours)
                                   : to_hf_tensors(cfg, ours);
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(tokenizer_path);
  if (const size_t scaffold = tok.model().scaffold_size(); scaffold > 0)
    throw UserError(tokenizer_path + ": a Scaffold-BPE tokenizer (" + std::to_string(scaffold) +
                    " scaffold tokens) cannot be exported: Hugging Face tokenizers cannot demolish scaffold tokens, "
                    "so they would emit ids the model never saw; pass --tokenizer with a plain BPE tokenizer.json "
                    "to export with it");
  tok.check_fits_model(tokenizer_path, cfg.vocab_size, "the exported model's config");  // HF would index past it
  const HfSpecialTokens sp = hf_special_tokens(tok);
  int64_t ffn_width = 0;  // rows of our w1 (HF's gate_proj rows, GPT-2's c_fc columns) or an expert's width
  for (const auto& [name, t] : ours) {
    if (name == "blocks.0.ffn.w1.weight") ffn_width = t.size(0);
    if (name == "blocks.0.ffn.experts.w_gate") ffn_width = t.size(2);
  }
  const nlohmann::json config = mixtral ? hf_mixtral_config(cfg, ffn_width, sp)
                                : gpt2  ? hf_gpt2_config(cfg, ffn_width, sp)
                                        : hf_llama_config(cfg, ffn_width, sp);
  model::save_safetensors(dir + "/model.safetensors", hf, {{"format", "pt"}});
  write_file_atomic(dir + "/config.json", config.dump(2) + "\n");
  write_file_atomic(dir + "/generation_config.json", hf_generation_config(sp).dump(2) + "\n");
  write_file_atomic(dir + "/tokenizer_config.json", hf_tokenizer_config(cfg, sp).dump(2) + "\n");
  write_file_atomic(dir + "/tokenizer.json", read_file(tokenizer_path));
  return hf.size();
}

}  // namespace lmlab::eval
