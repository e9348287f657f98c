// Export of a dense GPT-2-style lmlab model (`arch = "gpt2"`: LayerNorm, learned positions,
// tanh-GELU MLP) as a Hugging Face `GPT2LMHeadModel` (docs/interop.md). Name mapping, ours -> HF:
//   tok_emb.weight, pos_emb.weight       -> transformer.wte.weight, transformer.wpe.weight
//   blocks.N.attn_norm.{weight,bias}     -> transformer.h.N.ln_1.{weight,bias}
//   blocks.N.attn.{wq,wk,wv}             -> transformer.h.N.attn.c_attn   (q, k, v stacked)
//   blocks.N.attn.wo                     -> transformer.h.N.attn.c_proj
//   blocks.N.ffn_norm                    -> transformer.h.N.ln_2
//   blocks.N.ffn.{w1,w2}                 -> transformer.h.N.mlp.{c_fc,c_proj}
//   norm                                 -> transformer.ln_f
//   lm_head.weight (untied only)         -> lm_head.weight
// HF's GPT-2 layers are Conv1D (y = x W + b, W is (in, out)), so every matrix is transposed, and
// they always have biases: a model without (`model.bias = false`) gets zero biases.
#pragma once
#include <nlohmann/json.hpp>

#include "lmlab/eval/export_hf.h"

namespace lmlab::eval {

// UserError unless the gpt2 model maps onto GPT2LMHeadModel (no grouped-query attention).
void check_gpt2_exportable(const ModelConfig& cfg);

// Our parameters -> HF GPT-2 names, float32, contiguous; UserError naming a missing,
// misshapen or unexpected tensor.
model::NamedTensors to_hf_gpt2_tensors(const ModelConfig& cfg, const model::NamedTensors& ours);

// config.json of the export; `inner` is the MLP width (rows of w1).
nlohmann::json hf_gpt2_config(const ModelConfig& cfg, int64_t inner, const HfSpecialTokens& sp);

}  // namespace lmlab::eval
