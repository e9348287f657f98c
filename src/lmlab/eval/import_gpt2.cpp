// Hugging Face GPT2LMHeadModel -> lmlab gpt2: config.json and tensors (see import_gpt2.h).
#include "lmlab/eval/import_gpt2.h"

namespace lmlab::eval {

namespace {

// A GPT2Model's checkpoint (the original "gpt2" on the Hub) names its tensors without the
// "transformer." prefix that GPT2LMHeadModel's have; read both alike.
HfWeights with_transformer_prefix(const HfWeights& w) {
  HfWeights out;
  out.source = w.source;
  for (const auto& [name, t] : w.tensors) {
    const bool bare = name.rfind("h.", 0) == 0 || name.rfind("wte.", 0) == 0 || name.rfind("wpe.", 0) == 0 ||
                      name.rfind("ln_f.", 0) == 0;
    const std::string full = bare ? "transformer." + name : name;
    out.tensors.emplace_back(full, t);
    out.file_of[full] = w.file_for(name);
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

ModelConfig gpt2_config_from_hf(const HfConfig& c) {
  const std::string act = c.get<std::string>("activation_function", std::string("gelu_new"));
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    c.refuse("activation_function '" + act + "' is not supported (lmlab's gpt2 MLP is tanh-GELU: gelu_new)");
  if (!c.get<bool>("scale_attn_weights", true))
    c.refuse("scale_attn_weights = false is not supported (lmlab scales attention by 1/sqrt(head_dim))");
  for (const char* key : {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "add_cross_attention"})
    if (c.get<bool>(key, false)) c.refuse(std::string(key) + " = true is not supported (lmlab's gpt2 has no such option)");
  ModelConfig m;
  m.arch = "gpt2";
  m.d_model = c.get<int64_t>("n_embd");
  m.n_layer = c.get<int64_t>("n_layer");
  m.n_head = c.get<int64_t>("n_head");
  m.vocab_size = c.get<int64_t>("vocab_size");
  if (m.n_head <= 0 || m.d_model % m.n_head != 0)
    c.refuse("n_embd " + std::to_string(m.d_model) + " is not a multiple of n_head");
  m.ffn.hidden = c.get<int64_t>("n_inner", 4 * m.d_model);
  m.max_seq_len = c.get<int64_t>("n_positions", 1024);
  m.norm_eps = c.get<double>("layer_norm_epsilon", 1e-5);
  m.init_std = c.get<double>("initializer_range", 0.02);
  m.tie_embeddings = c.get<bool>("tie_word_embeddings", true);
  m.bias = true;  // until the tensors say otherwise (from_hf_gpt2_tensors)
  return m;
}

model::NamedTensors from_hf_gpt2_tensors(ModelConfig& cfg, const HfWeights& weights) {
  const HfWeights w = with_transformer_prefix(weights);
  HfTensorTaker taker(w);
  for (const auto& [name, t] : w.tensors)
    if (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")) taker.skip(name);  // mask buffers
  const int64_t C = cfg.d_model, V = cfg.vocab_size, F = cfg.ffn.hidden;
  model::NamedTensors ours, biases;  // biases kept apart until we know whether any is non-zero
  auto norm = [&](const std::string& hf, const std::string& o) {
    ours.emplace_back(o + ".weight", taker.take(hf + ".weight", {C}));
    biases.emplace_back(o + ".bias", taker.take(hf + ".bias", {C}));
  };
  // Conv1D (in, out) -> our Linear (out, in), split along `out` into the given names.
  auto conv = [&](const std::string& hf, const std::vector<std::string>& names, int64_t in, int64_t out) {
    const int64_t n = static_cast<int64_t>(names.size());
    torch::Tensor wt = taker.take(hf + ".weight", {in, out * n}).t();   // (n * out, in)
    torch::Tensor b = taker.take(hf + ".bias", {out * n});              // (n * out)
    for (int64_t i = 0; i < n; ++i) {
      ours.emplace_back(names[i] + ".weight", wt.slice(0, i * out, (i + 1) * out).contiguous());
      biases.emplace_back(names[i] + ".bias", b.slice(0, i * out, (i + 1) * out).contiguous());
    }
  };
  ours.emplace_back("tok_emb.weight", taker.take("transformer.wte.weight", {V, C}));
  ours.emplace_back("pos_emb.weight", taker.take("transformer.wpe.weight", {cfg.max_seq_len, C}));
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string h = "transformer.h." + std::to_string(l) + ".", o = "blocks." + std::to_string(l) + ".";
    norm(h + "ln_1", o + "attn_norm");
    conv(h + "attn.c_attn", {o + "attn.wq", o + "attn.wk", o + "attn.wv"}, C, C);
    conv(h + "attn.c_proj", {o + "attn.wo"}, C, C);
    norm(h + "ln_2", o + "ffn_norm");
    conv(h + "mlp.c_fc", {o + "ffn.w1"}, C, F);
    conv(h + "mlp.c_proj", {o + "ffn.w2"}, F, C);
  }
  norm("transformer.ln_f", "norm");
  if (!cfg.tie_embeddings) {
    ours.emplace_back("lm_head.weight", taker.take("lm_head.weight", {V, C}));
  } else if (taker.has("lm_head.weight")) {
    // Some writers store the tied head anyway; only a copy of wte is the same model.
    if (!torch::equal(taker.take("lm_head.weight", {V, C}), ours.front().second))
      throw_user_error(w.file_for("lm_head.weight"),
                       "lm_head.weight differs from transformer.wte.weight but config.json has tie_word_embeddings = true");
  }
  taker.check_all_taken("GPT-2");
  cfg.bias = false;
  for (const auto& [name, b] : biases)
    if (b.ne(0).any().item<bool>()) cfg.bias = true;
  if (cfg.bias) ours.insert(ours.end(), biases.begin(), biases.end());
  return ours;
}

}  // namespace lmlab::eval
