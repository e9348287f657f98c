// Export of a decoder whose every FFN is the plain top-k `moe` as a Hugging Face
// `MixtralForCausalLM` (docs/interop.md). Attention, norms and embeddings map as for the Llama
// (export_hf.h); each MoE layer, ours -> HF:
//   blocks.N.ffn.router.weight        -> model.layers.N.block_sparse_moe.gate.weight
//   blocks.N.ffn.experts.w_gate[e]^T  -> model.layers.N.block_sparse_moe.experts.e.w1.weight
//   blocks.N.ffn.experts.w_up[e]^T    -> model.layers.N.block_sparse_moe.experts.e.w3.weight
//   blocks.N.ffn.experts.w_down[e]^T  -> model.layers.N.block_sparse_moe.experts.e.w2.weight
// (our expert banks store (E, in, out); HF's Linear weights are (out, in)).
#pragma once
#include <nlohmann/json.hpp>

#include "lmlab/eval/export_hf.h"

namespace lmlab::eval {

// UserError, one line naming the key, for what Mixtral cannot express: Mixtral routes
// softmax -> top-k -> renormalise in every layer, with no shared experts, no capacity limit, no
// biases and top_k >= 2 (for k = 1 it renormalises the weight to 1, ours keeps p).
void check_mixtral_exportable(const ModelConfig& cfg);

model::NamedTensors to_hf_mixtral_tensors(const ModelConfig& cfg, const model::NamedTensors& ours);

// config.json; `expert_hidden` is each expert's width.
nlohmann::json hf_mixtral_config(const ModelConfig& cfg, int64_t expert_hidden, const HfSpecialTokens& sp);

}  // namespace lmlab::eval
