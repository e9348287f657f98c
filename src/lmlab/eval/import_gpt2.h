// Import of a Hugging Face `GPT2LMHeadModel` directory as an lmlab `arch = "gpt2"` model: the
// inverse of export_gpt2.h (Conv1D weights transposed back, c_attn split into wq, wk, wv).
// config.json -> [model]:
//   n_embd, n_layer, n_head, vocab_size   -> d_model, n_layer, n_head, vocab_size (required)
//   n_inner (null: 4 * n_embd)            -> ffn.hidden
//   n_positions (1024)                    -> max_seq_len
//   layer_norm_epsilon (1e-5), initializer_range (0.02), tie_word_embeddings (true)
//                                         -> norm_eps, init_std, tie_embeddings
// Refused, naming config.json and the key: activation_function other than gelu_new /
// gelu_pytorch_tanh (both tanh-GELU), scale_attn_weights = false,
// scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn, add_cross_attention.
// HF's GPT-2 always has biases; when every bias tensor is zero (what the export writes for
// `model.bias = false`) the import sets model.bias = false, the same function.
#pragma once
#include "lmlab/eval/import_hf.h"

namespace lmlab::eval {

ModelConfig gpt2_config_from_hf(const HfConfig& c);

// HF GPT-2 tensors -> ours. Names without the "transformer." prefix (a GPT2Model's) are read
// as with it; the causal-mask buffers (attn.bias, attn.masked_bias) of older checkpoints are
// skipped; a tied lm_head.weight equal to wte is dropped. Sets cfg.bias (see above).
model::NamedTensors from_hf_gpt2_tensors(ModelConfig& cfg, const HfWeights& weights);

}  // namespace lmlab::eval
