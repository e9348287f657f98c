// HF export: tensor names and shapes of a real model, refusal of MoE models (GPT-2 as Llama), config.json
// fields, and logits: a from-scratch HF-Llama forward (rotate_half RoPE, HF names) on the
// exported tensors equals our model's forward.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/common/error.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/eval/export_mixtral.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;

namespace {

ModelConfig tiny(bool tie, int64_t kv_heads) {
  ModelConfig c;
  c.arch = "llama";
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = kv_heads;
  c.d_model = 32;
  c.vocab_size = 50;
  c.max_seq_len = 16;
  c.tie_embeddings = tie;
  c.ffn.hidden = 48;
  return c;
}

model::NamedTensors params(model::Transformer& m) {
  model::NamedTensors out;
  for (const auto& p : m->named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

std::map<std::string, torch::Tensor> as_map(const model::NamedTensors& t) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, v] : t) m[k] = v;
  return m;
}

torch::Tensor swiglu(std::map<std::string, torch::Tensor>& w, const std::string& p, const char* gate, const char* up,
                     const char* down, const torch::Tensor& h) {
  torch::Tensor g = torch::silu(torch::matmul(h, w[p + gate + ".weight"].t()));
  return torch::matmul(g * torch::matmul(h, w[p + up + ".weight"].t()), w[p + down + ".weight"].t());
}

// MixtralSparseMoeBlock: softmax over the gate, top-k, renormalised, SwiGLU experts w1/w3/w2.
torch::Tensor mixtral_moe(std::map<std::string, torch::Tensor>& w, const nlohmann::json& cfg, const std::string& p,
                          const torch::Tensor& h) {
  const int64_t k = cfg["num_experts_per_tok"], E = cfg["num_local_experts"];
  torch::Tensor probs = torch::softmax(torch::matmul(h, w[p + "gate.weight"].t()), -1);  // (1, T, E)
  auto [top, idx] = probs.topk(k, -1);
  top = top / top.sum(-1, true);
  torch::Tensor y = torch::zeros_like(h);
  for (int64_t e = 0; e < E; ++e) {
    torch::Tensor weight = (top * idx.eq(e)).sum(-1, true);  // (1, T, 1): 0 where e is not chosen
    y = y + weight * swiglu(w, p + "experts." + std::to_string(e) + ".", "w1", "w3", "w2", h);
  }
  return y;
}

// HF LlamaModel (and MixtralModel) forward, written from the transformers formulas, on HF-named tensors.
torch::Tensor hf_llama_forward(std::map<std::string, torch::Tensor> w, const nlohmann::json& cfg,
                               const torch::Tensor& ids) {
  const int64_t H = cfg["num_attention_heads"], KV = cfg["num_key_value_heads"], C = cfg["hidden_size"];
  const int64_t D = C / H, T = ids.size(1), L = cfg["num_hidden_layers"];
  const double eps = cfg["rms_norm_eps"], theta = cfg["rope_theta"];
  auto rms = [&](const torch::Tensor& x, const torch::Tensor& g) {
    return g * (x * torch::rsqrt(x.pow(2).mean(-1, true) + eps));
  };
  torch::Tensor inv_freq = 1.0 / torch::pow(theta, torch::arange(0, D, 2, torch::kFloat) / D);  // (D/2)
  torch::Tensor freqs = torch::outer(torch::arange(T, torch::kFloat), inv_freq);               // (T, D/2)
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);                                         // (T, D)
  torch::Tensor cos = emb.cos(), sin = emb.sin();
  auto rotate_half = [&](const torch::Tensor& x) {
    return torch::cat({-x.slice(-1, D / 2, D), x.slice(-1, 0, D / 2)}, -1);
  };
  torch::Tensor x = w["model.embed_tokens.weight"].index_select(0, ids.flatten()).view({1, T, C});
  torch::Tensor mask = torch::ones({T, T}, torch::kBool).tril();
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    torch::Tensor h = rms(x, w[p + "input_layernorm.weight"]);
    auto proj = [&](const std::string& n, int64_t heads) {
      return torch::matmul(h, w[p + "self_attn." + n + "_proj.weight"].t()).view({1, T, heads, D}).transpose(1, 2);
    };
    torch::Tensor q = proj("q", H), k = proj("k", KV), v = proj("v", KV);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
    torch::Tensor att = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(D));
    att = torch::softmax(att.masked_fill(~mask, -INFINITY), -1);
    torch::Tensor y = torch::matmul(att, v).transpose(1, 2).reshape({1, T, C});
    x = x + torch::matmul(y, w[p + "self_attn.o_proj.weight"].t());
    h = rms(x, w[p + "post_attention_layernorm.weight"]);
    x = x + (w.count(p + "block_sparse_moe.gate.weight") ? mixtral_moe(w, cfg, p + "block_sparse_moe.", h)
                                                          : swiglu(w, p + "mlp.", "gate_proj", "up_proj", "down_proj", h));
  }
  x = rms(x, w["model.norm.weight"]);
  torch::Tensor head = cfg["tie_word_embeddings"].get<bool>() ? w["model.embed_tokens.weight"] : w["lm_head.weight"];
  return torch::matmul(x, head.t());  // (1, T, V)
}

}  // namespace

TEST(ExportHf, NamesAndShapesOfARealModel) {
  torch::manual_seed(0);
  ModelConfig cfg = tiny(false, 2);
  model::Transformer m(cfg);
  auto hf = as_map(eval::to_hf_tensors(cfg, params(m)));
  EXPECT_EQ(hf.size(), 1u + 2u * 9u + 1u + 1u);  // embed, 2 x (2 norms + 4 attn + 3 mlp), norm, lm_head
  EXPECT_EQ(hf.at("model.embed_tokens.weight").sizes().vec(), (std::vector<int64_t>{50, 32}));
  EXPECT_EQ(hf.at("model.layers.1.self_attn.q_proj.weight").sizes().vec(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(hf.at("model.layers.1.self_attn.k_proj.weight").sizes().vec(), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(hf.at("model.layers.1.self_attn.v_proj.weight").sizes().vec(), (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(hf.at("model.layers.0.self_attn.o_proj.weight").sizes().vec(), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(hf.at("model.layers.0.mlp.gate_proj.weight").sizes().vec(), (std::vector<int64_t>{48, 32}));
  EXPECT_EQ(hf.at("model.layers.0.mlp.up_proj.weight").sizes().vec(), (std::vector<int64_t>{48, 32}));
  EXPECT_EQ(hf.at("model.layers.0.mlp.down_proj.weight").sizes().vec(), (std::vector<int64_t>{32, 48}));
  EXPECT_EQ(hf.at("model.layers.0.input_layernorm.weight").sizes().vec(), (std::vector<int64_t>{32}));
  EXPECT_EQ(hf.at("model.layers.0.post_attention_layernorm.weight").sizes().vec(), (std::vector<int64_t>{32}));
  EXPECT_EQ(hf.at("model.norm.weight").sizes().vec(), (std::vector<int64_t>{32}));
  EXPECT_EQ(hf.at("lm_head.weight").sizes().vec(), (std::vector<int64_t>{50, 32}));

  ModelConfig tied = tiny(true, 0);
  model::Transformer mt(tied);
  auto hft = as_map(eval::to_hf_tensors(tied, params(mt)));
  EXPECT_EQ(hft.count("lm_head.weight"), 0u);  // tie_word_embeddings = true
  nlohmann::json c = eval::hf_llama_config(tied, 48, {});
  EXPECT_EQ(c["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(c["num_key_value_heads"], 4);
  EXPECT_EQ(c["intermediate_size"], 48);
  EXPECT_EQ(c["tie_word_embeddings"], true);
  EXPECT_EQ(c["torch_dtype"], "float32");
}

TEST(ExportHf, HfLlamaForwardOnExportedTensorsMatchesOurLogits) {
  for (bool tie : {true, false}) {
    torch::manual_seed(1);
    ModelConfig cfg = tiny(tie, 2);
    model::Transformer m(cfg);
    m->eval();
    torch::Tensor ids = torch::randint(0, cfg.vocab_size, {1, 12}, torch::kLong);
    torch::NoGradGuard no_grad;
    torch::Tensor ours = m->forward(ids);
    torch::Tensor theirs = hf_llama_forward(as_map(eval::to_hf_tensors(cfg, params(m))), eval::hf_llama_config(cfg, 48, {}), ids);
    EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-4) << "tie=" << tie;
  }
}

TEST(ExportHf, RefusesGpt2AndMoeAndWrongTensors) {
  ModelConfig gpt2 = tiny(true, 0);
  gpt2.arch = "gpt2";
  EXPECT_NO_THROW(eval::check_hf_exportable(gpt2));  // as GPT2LMHeadModel (test_export_gpt2.cpp)
  EXPECT_THROW(eval::hf_llama_config(gpt2, 48, {}), UserError);
  ModelConfig moe = tiny(true, 0);
  moe.ffn.type = "switch";
  try {
    eval::check_hf_exportable(moe);
    FAIL() << "MoE accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("only dense models"), std::string::npos);
  }
  torch::manual_seed(0);
  ModelConfig cfg = tiny(true, 0);
  model::Transformer m(cfg);
  model::NamedTensors p = params(m);
  p.emplace_back("extra.weight", torch::zeros({1}));
  EXPECT_THROW(eval::to_hf_tensors(cfg, p), UserError);
  p.pop_back();
  p.erase(p.begin());  // drop tok_emb
  EXPECT_THROW(eval::to_hf_tensors(cfg, p), UserError);
}

TEST(ExportHf, TopKMoeExportsAsMixtralWithTheSameLogits) {
  torch::manual_seed(7);
  ModelConfig cfg = tiny(false, 2);
  cfg.ffn.type = "moe";
  cfg.ffn.n_experts = 4;
  cfg.ffn.top_k = 2;
  model::Transformer m(cfg);
  m->eval();
  auto hf = as_map(eval::to_hf_mixtral_tensors(cfg, params(m)));
  EXPECT_EQ(hf.at("model.layers.1.block_sparse_moe.gate.weight").sizes().vec(), (std::vector<int64_t>{4, 32}));
  const int64_t H = hf.at("model.layers.0.block_sparse_moe.experts.3.w2.weight").size(1);
  nlohmann::json c = eval::hf_mixtral_config(cfg, H, {});
  EXPECT_EQ(c["architectures"][0], "MixtralForCausalLM");
  EXPECT_EQ(c["num_local_experts"], 4);
  torch::Tensor ids = torch::randint(0, cfg.vocab_size, {1, 12}, torch::kLong);
  torch::NoGradGuard no_grad;
  EXPECT_LT((m->forward(ids) - hf_llama_forward(hf, c, ids)).abs().max().item<double>(), 1e-4);
}

TEST(ExportHf, MixtralRefusesWhatItCannotExpress) {
  ModelConfig cfg = tiny(true, 0);
  cfg.ffn.type = "moe";
  cfg.ffn.n_shared = 1;
  try {
    eval::check_hf_exportable(cfg);
    FAIL() << "shared experts accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("n_shared = 1"), std::string::npos) << e.what();
  }
  cfg.ffn.n_shared = 0;
  cfg.ffn.top_k = 1;
  EXPECT_THROW(eval::check_hf_exportable(cfg), UserError);
  cfg.ffn.top_k = 2;
  EXPECT_NO_THROW(eval::check_hf_exportable(cfg));
}
