// Import of a Hugging Face `MixtralForCausalLM` directory as an lmlab llama with
// `[model.ffn] type = "moe"` in every layer: the inverse of export_mixtral.h. Attention, norms and
// embeddings are the Llama's (import_hf.h); config.json adds
//   num_local_experts (8), num_experts_per_tok (2)  -> ffn.n_experts, ffn.top_k (renormalize = true)
//   intermediate_size (required)                    -> ffn.hidden (each expert's width)
//   router_aux_loss_coef (0.001)                    -> ffn.balance_coef
// with MixtralConfig's defaults elsewhere (num_key_value_heads 8, rms_norm_eps 1e-5, rope_theta
// 1e6, max_position_embeddings 131072, tie_word_embeddings false). Refused, naming config.json
// and the key: what the Llama import refuses, num_experts_per_tok < 2 (Mixtral then gives the one
// expert weight 1, lmlab keeps its probability) or > num_local_experts, and a sliding_window
// shorter than max_position_embeddings (lmlab attends to the whole window).
// router_jitter_noise and output_router_logits act in training only and are not read.
// Experts are read in either layout transformers writes:
//   model.layers.N.block_sparse_moe.{gate, experts.e.w1, experts.e.w3, experts.e.w2}.weight (4.x)
//   model.layers.N.mlp.{gate.weight, experts.gate_up_proj (w1 above w3), experts.down_proj} (5.x)
#pragma once
#include "lmlab/eval/import_hf.h"

namespace lmlab::eval {

ModelConfig mixtral_config_from_hf(const HfConfig& c);

model::NamedTensors from_hf_mixtral_tensors(const ModelConfig& cfg, const HfWeights& weights);

}  // namespace lmlab::eval
