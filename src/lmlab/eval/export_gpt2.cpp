// lmlab gpt2 -> Hugging Face GPT2LMHeadModel: tensors and config.json (mapping in export_gpt2.h).
#include "lmlab/eval/export_gpt2.h"

#include <map>
#include <set>

#include "lmlab/common/error.h"

namespace lmlab::eval {

namespace {

// Our tensors by name, handed out once each with their shape checked; what is never asked for
// is reported by check_all_used (a tensor GPT-2 has no place for).
class TensorSource {
 public:
  explicit TensorSource(const model::NamedTensors& ours) {
    for (const auto& [name, t] : ours) by_name_[name] = t;
  }
  torch::Tensor get(const std::string& name, const std::vector<int64_t>& shape) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw UserError("export hf: no tensor '" + name + "'");
    if (it->second.sizes().vec() != shape)
      throw UserError("export hf: tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                      ", expected " + c10::str(c10::IntArrayRef(shape)));
    used_.insert(name);
    return it->second.detach().to(torch::kCPU, torch::kFloat);
  }
  void check_all_used() const {
    for (const auto& [name, t] : by_name_)
      if (!used_.count(name)) throw UserError("export hf: tensor '" + name + "' has no place in a GPT-2 model");
  }

 private:
  std::map<std::string, torch::Tensor> by_name_;
  std::set<std::string> used_;
};

}  // namespace

void check_gpt2_exportable(const ModelConfig& cfg) {
  if (cfg.arch != "gpt2" || cfg.ffn.type != "dense")
    throw UserError("export hf: GPT2LMHeadModel needs [model] arch = \"gpt2\" with a dense FFN");
  if (cfg.kv_heads() != cfg.n_head)
    throw UserError("export hf: GPT2LMHeadModel has no grouped-query attention; this model has [model] n_kv_head = " +
                    std::to_string(cfg.n_kv_head) + " (n_head = " + std::to_string(cfg.n_head) + ")");
}

model::NamedTensors to_hf_gpt2_tensors(const ModelConfig& cfg, const model::NamedTensors& ours) {
  check_gpt2_exportable(cfg);
  TensorSource src(ours);
  const int64_t C = cfg.d_model, V = cfg.vocab_size;
  int64_t F = 0;
  for (const auto& [name, t] : ours)
    if (name == "blocks.0.ffn.w1.weight") F = t.size(0);
  model::NamedTensors hf;
  auto put = [&](const std::string& name, const torch::Tensor& t) { hf.emplace_back(name, t.contiguous()); };
  auto bias = [&](const std::string& name, int64_t n) { return cfg.bias ? src.get(name, {n}) : torch::zeros({n}); };
  auto norm = [&](const std::string& ours_name, const std::string& hf_name) {
    put(hf_name + ".weight", src.get(ours_name + ".weight", {C}));
    put(hf_name + ".bias", bias(ours_name + ".bias", C));
  };
  // Conv1D stores (in, out): our Linear weight (out, in) transposed.
  auto conv = [&](const std::vector<std::string>& ours_names, const std::string& hf_name, int64_t out, int64_t in) {
    std::vector<torch::Tensor> w, b;
    for (const std::string& n : ours_names) {
      w.push_back(src.get(n + ".weight", {out, in}));
      b.push_back(bias(n + ".bias", out));
    }
    put(hf_name + ".weight", torch::cat(w, 0).t());
    put(hf_name + ".bias", torch::cat(b, 0));
  };
  put("transformer.wte.weight", src.get("tok_emb.weight", {V, C}));
  put("transformer.wpe.weight", src.get("pos_emb.weight", {cfg.max_seq_len, C}));
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string o = "blocks." + std::to_string(l) + ".", h = "transformer.h." + std::to_string(l) + ".";
    norm(o + "attn_norm", h + "ln_1");
    conv({o + "attn.wq", o + "attn.wk", o + "attn.wv"}, h + "attn.c_attn", C, C);
    conv({o + "attn.wo"}, h + "attn.c_proj", C, C);
    norm(o + "ffn_norm", h + "ln_2");
    conv({o + "ffn.w1"}, h + "mlp.c_fc", F, C);
    conv({o + "ffn.w2"}, h + "mlp.c_proj", C, F);
  }
  norm("norm", "transformer.ln_f");
  if (!cfg.tie_embeddings) put("lm_head.weight", src.get("lm_head.weight", {V, C}));
  src.check_all_used();
  return hf;
}

nlohmann::json hf_gpt2_config(const ModelConfig& cfg, int64_t inner, const HfSpecialTokens& sp) {
  check_gpt2_exportable(cfg);
  nlohmann::json config = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"n_embd", cfg.d_model},
      {"n_layer", cfg.n_layer},
      {"n_head", cfg.n_head},
      {"n_inner", inner},
      {"n_positions", cfg.max_seq_len},
      {"n_ctx", cfg.max_seq_len},
      {"vocab_size", cfg.vocab_size},
      {"activation_function", "gelu_new"},  // HF's name for tanh-GELU
      {"layer_norm_epsilon", cfg.norm_eps},
      {"tie_word_embeddings", cfg.tie_embeddings},
      {"scale_attn_weights", true},
      {"resid_pdrop", 0.0},
      {"embd_pdrop", 0.0},
      {"attn_pdrop", 0.0},
      {"initializer_range", cfg.init_std},
      {"torch_dtype", "float32"},
      {"use_cache", true},
  };
  config.update(hf_special_token_ids(sp));
  return config;
}

}  // namespace lmlab::eval
