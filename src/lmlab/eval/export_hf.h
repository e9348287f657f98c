// Export of a dense LLaMA-style lmlab model as a Hugging Face `LlamaForCausalLM`
// (config.json + model.safetensors + tokenizer.json). Name mapping, ours -> HF:
//   tok_emb.weight                   -> model.embed_tokens.weight
//   blocks.N.attn_norm.weight        -> model.layers.N.input_layernorm.weight
//   blocks.N.attn.{wq,wk,wv,wo}.*    -> model.layers.N.self_attn.{q,k,v,o}_proj.*
//   blocks.N.ffn_norm.weight         -> model.layers.N.post_attention_layernorm.weight
//   blocks.N.ffn.{w1,w3,w2}.*        -> model.layers.N.mlp.{gate,up,down}_proj.*   (silu(w1 x) * w3 x)
//   norm.weight                      -> model.norm.weight
//   lm_head.weight (untied only)     -> lm_head.weight   (tied: tie_word_embeddings = true)
// Our RoPE already uses HF's rotate-half pairing (i with i + D/2, model/rope.h), so q/k rows
// need no permutation. GPT-2-style and MoE models are refused with a UserError.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lmlab/model/model_config.h"
#include "lmlab/model/safetensors.h"

namespace lmlab::eval {

// UserError unless `cfg` describes a model that exports as a Llama (arch llama, dense FFN).
void check_hf_exportable(const ModelConfig& cfg);

// Our parameters (names as in model->named_parameters()) -> HF Llama names, in HF order,
// float32, contiguous. UserError naming the tensor for a missing, unexpected or misshapen one.
model::NamedTensors to_hf_tensors(const ModelConfig& cfg, const model::NamedTensors& ours);

// config.json of the export; `intermediate_size` is the FFN hidden width (rows of w1).
nlohmann::json hf_llama_config(const ModelConfig& cfg, int64_t intermediate_size);

}  // namespace lmlab::eval
