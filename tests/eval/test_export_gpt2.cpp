// GPT-2 export: a from-scratch HF GPT-2 forward (Conv1D layers, fused c_attn, tanh-GELU,
// learned positions) on the exported tensors equals our gpt2 model's logits; GQA is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "lmlab/common/error.h"
#include "lmlab/eval/export_gpt2.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;

namespace {

ModelConfig tiny_gpt2(bool tie, bool bias) {
  ModelConfig c;
  c.arch = "gpt2";
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.vocab_size = 50;
  c.max_seq_len = 16;
  c.tie_embeddings = tie;
  c.bias = bias;
  return c;
}

// HF GPT2Model forward, written from the transformers formulas, on HF-named tensors.
torch::Tensor hf_gpt2_forward(std::map<std::string, torch::Tensor> w, const nlohmann::json& cfg, const torch::Tensor& ids) {
  const int64_t H = cfg["n_head"], C = cfg["n_embd"], L = cfg["n_layer"], T = ids.size(1), D = C / H;
  const double eps = cfg["layer_norm_epsilon"];
  auto ln = [&](const torch::Tensor& x, const std::string& p) {
    return torch::layer_norm(x, {C}, w[p + ".weight"], w[p + ".bias"], eps);
  };
  auto conv = [&](const torch::Tensor& x, const std::string& p) { return torch::addmm(w[p + ".bias"], x.view({-1, x.size(-1)}), w[p + ".weight"]).view({1, T, -1}); };
  torch::Tensor x = w["transformer.wte.weight"].index_select(0, ids.flatten()) + w["transformer.wpe.weight"].slice(0, 0, T);
  x = x.view({1, T, C});
  torch::Tensor mask = torch::ones({T, T}, torch::kBool).tril();
  for (int64_t l = 0; l < L; ++l) {
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    std::vector<torch::Tensor> qkv = conv(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, -1);
    auto heads = [&](const torch::Tensor& t) { return t.view({1, T, H, D}).transpose(1, 2); };
    torch::Tensor att = torch::matmul(heads(qkv[0]), heads(qkv[1]).transpose(-1, -2)) / std::sqrt(static_cast<double>(D));
    att = torch::softmax(att.masked_fill(~mask, -INFINITY), -1);
    x = x + conv(torch::matmul(att, heads(qkv[2])).transpose(1, 2).reshape({1, T, C}), p + "attn.c_proj");
    torch::Tensor h = torch::gelu(conv(ln(x, p + "ln_2"), p + "mlp.c_fc"), "tanh");  // gelu_new
    x = x + conv(h, p + "mlp.c_proj");
  }
  x = ln(x, "transformer.ln_f");
  torch::Tensor head = cfg["tie_word_embeddings"].get<bool>() ? w["transformer.wte.weight"] : w["lm_head.weight"];
  return torch::matmul(x, head.t());  // (1, T, V)
}

}  // namespace

TEST(ExportGpt2, HfGpt2ForwardOnExportedTensorsMatchesOurLogits) {
  for (bool tie : {true, false})
    for (bool bias : {true, false}) {
      torch::manual_seed(2);
      ModelConfig cfg = tiny_gpt2(tie, bias);
      model::Transformer m(cfg);
      m->eval();
      model::NamedTensors ours;
      for (const auto& p : m->named_parameters()) ours.emplace_back(p.key(), p.value());
      std::map<std::string, torch::Tensor> hf;
      for (const auto& [k, v] : eval::to_hf_gpt2_tensors(cfg, ours)) hf[k] = v;
      EXPECT_EQ(hf.at("transformer.h.0.attn.c_attn.weight").sizes().vec(), (std::vector<int64_t>{32, 96}));
      EXPECT_EQ(hf.count("lm_head.weight"), tie ? 0u : 1u);
      torch::Tensor ids = torch::randint(0, cfg.vocab_size, {1, 12}, torch::kLong);
      torch::NoGradGuard no_grad;
      torch::Tensor theirs = hf_gpt2_forward(hf, eval::hf_gpt2_config(cfg, 128, {}), ids);
      EXPECT_LT((m->forward(ids) - theirs).abs().max().item<double>(), 1e-4) << "tie=" << tie << " bias=" << bias;
    }
}

TEST(ExportGpt2, RefusesGroupedQueryAttention) {
  ModelConfig cfg = tiny_gpt2(true, false);
  cfg.n_kv_head = 2;
  try {
    eval::check_gpt2_exportable(cfg);
    FAIL() << "GQA accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("n_kv_head = 2"), std::string::npos) << e.what();
  }
}
