// Hugging Face MixtralForCausalLM -> lmlab llama + top-k moe (see import_mixtral.h).
#include "lmlab/eval/import_mixtral.h"

#include "lmlab/eval/export_hf.h"

namespace lmlab::eval {

ModelConfig mixtral_config_from_hf(const HfConfig& c) {
  HfLlamaDefaults d;  // MixtralConfig's, where they differ from LlamaConfig's
  d.kv_heads = 8;
  d.norm_eps = 1e-5;
  d.rope_theta = 1e6;
  d.max_position_embeddings = 4096 * 32;
  if (c.get<bool>("attention_bias", false))
    c.refuse("attention_bias = true is not supported (lmlab's Mixtral-style models have no biases)");
  ModelConfig m = llama_config_from_hf(c, d);
  FfnConfig& f = m.ffn;
  f.type = "moe";
  f.n_experts = c.get<int64_t>("num_local_experts", 8);
  f.top_k = c.get<int64_t>("num_experts_per_tok", 2);
  f.renormalize = true;  // Mixtral divides the top-k softmax weights by their sum
  f.balance_coef = c.get<double>("router_aux_loss_coef", 0.001);
  if (f.top_k < 2)
    c.refuse("num_experts_per_tok " + std::to_string(f.top_k) +
             " is not supported (Mixtral gives a single expert weight 1, lmlab keeps its probability)");
  if (f.top_k > f.n_experts) c.refuse("num_experts_per_tok is larger than num_local_experts");
  if (c.has("sliding_window") && c.get<int64_t>("sliding_window") < m.max_seq_len)
    c.refuse("sliding_window " + std::to_string(c.get<int64_t>("sliding_window")) +
             " is shorter than max_position_embeddings " + std::to_string(m.max_seq_len) +
             " (lmlab attends to the whole window)");
  return m;
}

model::NamedTensors from_hf_mixtral_tensors(const ModelConfig& cfg, const HfWeights& weights) {
  HfTensorTaker taker(weights);
  model::NamedTensors ours;
  for (const HfTensorPlace& p : hf_llama_layout(cfg, 0))  // everything but the FFNs is the Llama's
    if (p.ours.find(".ffn.") == std::string::npos) ours.emplace_back(p.ours, taker.take(p.hf, p.shape));
  const int64_t E = cfg.ffn.n_experts, C = cfg.d_model, H = cfg.ffn.hidden;
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string h = "model.layers." + std::to_string(l) + ".", o = "blocks." + std::to_string(l) + ".ffn.";
    torch::Tensor w1, w3, w2;  // (E, H, C), (E, H, C), (E, C, H): HF's Linear weights, (out, in)
    if (!taker.has(h + "block_sparse_moe.gate.weight") && taker.has(h + "mlp.gate.weight")) {  // transformers 5
      ours.emplace_back(o + "router.weight", taker.take(h + "mlp.gate.weight", {E, C}));
      torch::Tensor gate_up = taker.take(h + "mlp.experts.gate_up_proj", {E, 2 * H, C});
      w1 = gate_up.slice(1, 0, H);
      w3 = gate_up.slice(1, H, 2 * H);
      w2 = taker.take(h + "mlp.experts.down_proj", {E, C, H});
    } else {
      ours.emplace_back(o + "router.weight", taker.take(h + "block_sparse_moe.gate.weight", {E, C}));
      std::vector<torch::Tensor> gates, ups, downs;
      for (int64_t e = 0; e < E; ++e) {
        const std::string x = h + "block_sparse_moe.experts." + std::to_string(e) + ".";
        gates.push_back(taker.take(x + "w1.weight", {H, C}));
        ups.push_back(taker.take(x + "w3.weight", {H, C}));
        downs.push_back(taker.take(x + "w2.weight", {C, H}));
      }
      w1 = torch::stack(gates);
      w3 = torch::stack(ups);
      w2 = torch::stack(downs);
    }
    // Our expert banks are (E, in, out).
    ours.emplace_back(o + "experts.w_gate", w1.transpose(1, 2).contiguous());  // (E, C, H)
    ours.emplace_back(o + "experts.w_up", w3.transpose(1, 2).contiguous());    // (E, C, H)
    ours.emplace_back(o + "experts.w_down", w2.transpose(1, 2).contiguous());  // (E, H, C)
  }
  taker.check_all_taken("Mixtral");
  return ours;
}

}  // namespace lmlab::eval
