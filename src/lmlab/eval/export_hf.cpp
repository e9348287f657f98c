// lmlab -> Hugging Face Llama: tensor names, shapes and config.json (mapping in export_hf.h).
#include "lmlab/eval/export_hf.h"

#include <map>
#include <set>

#include "lmlab/common/error.h"

namespace lmlab::eval {

void check_hf_exportable(const ModelConfig& cfg) {
  if (cfg.arch != "llama")
    throw UserError("export hf: only LLaMA-style models export as LlamaForCausalLM; this model has [model] arch = \"" +
                    cfg.arch + "\"");
  if (cfg.ffn.type != "dense")
    throw UserError("export hf: only dense models export as LlamaForCausalLM; this model has [model.ffn] type = \"" +
                    cfg.ffn.type + "\" (Mixture-of-Experts layers have no Llama equivalent)");
}

model::NamedTensors to_hf_tensors(const ModelConfig& cfg, const model::NamedTensors& ours) {
  check_hf_exportable(cfg);
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, t] : ours) by_name[name] = t;
  std::set<std::string> used;
  const int64_t C = cfg.d_model, V = cfg.vocab_size, Dh = cfg.head_dim();
  const int64_t hidden = by_name.count("blocks.0.ffn.w1.weight") ? by_name["blocks.0.ffn.w1.weight"].size(0) : -1;

  model::NamedTensors hf;
  auto take = [&](const std::string& ours_name, const std::string& hf_name, std::vector<int64_t> shape) {
    auto it = by_name.find(ours_name);
    if (it == by_name.end()) throw UserError("export hf: the checkpoint has no tensor '" + ours_name + "'");
    if (it->second.sizes().vec() != shape) {
      std::string want, got;
      for (int64_t s : shape) want += (want.empty() ? "" : ", ") + std::to_string(s);
      for (int64_t s : it->second.sizes()) got += (got.empty() ? "" : ", ") + std::to_string(s);
      throw UserError("export hf: tensor '" + ours_name + "' has shape (" + got + "), expected (" + want + ")");
    }
    used.insert(ours_name);
    hf.emplace_back(hf_name, it->second.detach().to(torch::kCPU, torch::kFloat).contiguous());
  };
  auto linear = [&](const std::string& ours_name, const std::string& hf_name, int64_t out, int64_t in) {
    take(ours_name + ".weight", hf_name + ".weight", {out, in});
    if (cfg.bias) take(ours_name + ".bias", hf_name + ".bias", {out});
  };

  take("tok_emb.weight", "model.embed_tokens.weight", {V, C});
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string o = "blocks." + std::to_string(l) + ".", h = "model.layers." + std::to_string(l) + ".";
    take(o + "attn_norm.weight", h + "input_layernorm.weight", {C});
    linear(o + "attn.wq", h + "self_attn.q_proj", cfg.n_head * Dh, C);
    linear(o + "attn.wk", h + "self_attn.k_proj", cfg.kv_heads() * Dh, C);
    linear(o + "attn.wv", h + "self_attn.v_proj", cfg.kv_heads() * Dh, C);
    linear(o + "attn.wo", h + "self_attn.o_proj", C, cfg.n_head * Dh);
    take(o + "ffn_norm.weight", h + "post_attention_layernorm.weight", {C});
    linear(o + "ffn.w1", h + "mlp.gate_proj", hidden, C);
    linear(o + "ffn.w3", h + "mlp.up_proj", hidden, C);
    linear(o + "ffn.w2", h + "mlp.down_proj", C, hidden);
  }
  take("norm.weight", "model.norm.weight", {C});
  if (!cfg.tie_embeddings) take("lm_head.weight", "lm_head.weight", {V, C});
  for (const auto& [name, t] : ours)
    if (!used.count(name)) throw UserError("export hf: tensor '" + name + "' has no place in a Llama model");
  return hf;
}

nlohmann::json hf_llama_config(const ModelConfig& cfg, int64_t intermediate_size) {
  check_hf_exportable(cfg);
  return {
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
}

}  // namespace lmlab::eval
