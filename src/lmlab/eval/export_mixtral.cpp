// lmlab top-k moe -> Hugging Face MixtralForCausalLM (mapping in export_mixtral.h).
#include "lmlab/eval/export_mixtral.h"

#include "lmlab/common/error.h"

namespace lmlab::eval {

void check_mixtral_exportable(const ModelConfig& cfg) {
  const FfnConfig& f = cfg.ffn;
  auto refuse = [](const std::string& why) { throw UserError("export hf: MixtralForCausalLM cannot express " + why); };
  if (cfg.arch != "llama" || f.type != "moe") refuse("[model] arch = \"" + cfg.arch + "\" with [model.ffn] type = \"" + f.type + "\" (only llama + moe)");
  if (f.moe_layers != "all") refuse("[model.ffn] moe_layers = \"" + f.moe_layers + "\" (every layer is MoE in Mixtral)");
  if (f.n_shared != 0) refuse("[model.ffn] n_shared = " + std::to_string(f.n_shared) + " (no shared experts)");
  if (f.capacity_factor != 0.0) refuse("[model.ffn] capacity_factor (no token dropping)");
  if (!f.renormalize || f.top_k < 2) refuse("[model.ffn] top_k < 2 or renormalize = false (Mixtral renormalises the top-k weights)");
  if (f.disable_top1) refuse("[model.ffn] disable_top1");
  if (cfg.bias) refuse("[model] bias = true (no biases)");
}

model::NamedTensors to_hf_mixtral_tensors(const ModelConfig& cfg, const model::NamedTensors& ours) {
  check_mixtral_exportable(cfg);
  // Everything but the FFNs is the Llama layout.
  std::vector<HfTensorPlace> layout;
  for (HfTensorPlace& p : hf_llama_layout(cfg, 0))
    if (p.ours.find(".ffn.") == std::string::npos) layout.push_back(std::move(p));
  model::NamedTensors rest, ffn;
  for (const auto& nt : ours) (nt.first.find(".ffn.") == std::string::npos ? rest : ffn).push_back(nt);
  auto where = [](const std::string&) { return std::string("export hf"); };
  model::NamedTensors hf = remap_llama_tensors(layout, true, rest, where);
  int64_t H = 0;
  for (const auto& [name, t] : ffn)
    if (name == "blocks.0.ffn.experts.w_gate") H = t.size(2);
  const int64_t E = cfg.ffn.n_experts, C = cfg.d_model;
  std::vector<HfTensorPlace> banks;
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string o = "blocks." + std::to_string(l) + ".ffn.";
    banks.push_back({o + "router.weight", o + "router.weight", {E, C}});
    banks.push_back({o + "experts.w_gate", o + "experts.w_gate", {E, C, H}});
    banks.push_back({o + "experts.w_up", o + "experts.w_up", {E, C, H}});
    banks.push_back({o + "experts.w_down", o + "experts.w_down", {E, H, C}});
  }
  model::NamedTensors checked = remap_llama_tensors(banks, true, ffn, where);  // shapes, no strays
  for (size_t i = 0; i < checked.size(); i += 4) {
    const std::string h = "model.layers." + std::to_string(i / 4) + ".block_sparse_moe.";
    hf.emplace_back(h + "gate.weight", checked[i].second);
    for (int64_t e = 0; e < E; ++e) {
      const std::string x = h + "experts." + std::to_string(e) + ".";
      hf.emplace_back(x + "w1.weight", checked[i + 1].second[e].t().contiguous());
      hf.emplace_back(x + "w3.weight", checked[i + 2].second[e].t().contiguous());
      hf.emplace_back(x + "w2.weight", checked[i + 3].second[e].t().contiguous());
    }
  }
  return hf;
}

nlohmann::json hf_mixtral_config(const ModelConfig& cfg, int64_t expert_hidden, const HfSpecialTokens& sp) {
  check_mixtral_exportable(cfg);
  ModelConfig dense = cfg;
  dense.ffn.type = "dense";  // attention, norms and sizes are the Llama's keys
  nlohmann::json c = hf_llama_config(dense, expert_hidden, sp);
  for (const char* key : {"attention_bias", "mlp_bias"}) c.erase(key);
  c["architectures"] = {"MixtralForCausalLM"};
  c["model_type"] = "mixtral";
  c["num_local_experts"] = cfg.ffn.n_experts;
  c["num_experts_per_tok"] = cfg.ffn.top_k;
  c["router_aux_loss_coef"] = cfg.ffn.balance_coef;
  c["output_router_logits"] = false;
  c["sliding_window"] = nullptr;
  return c;
}

}  // namespace lmlab::eval
