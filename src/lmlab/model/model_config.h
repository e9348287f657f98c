// [model] config section: the shape of the decoder-only transformer (see docs/model.md).
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/model/ffn_config.h"

namespace lmlab {

struct ModelConfig {
  std::string arch = "llama";
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_kv_head = 0;
  int64_t d_model = 256;
  int64_t vocab_size = 0;
  int64_t max_seq_len = 1024;
  bool tie_embeddings = true;
  bool bias = false;
  double init_std = 0.02;
  bool scaled_residual_init = true;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  double dropout = 0.0;
  FfnConfig ffn;

  template <class V>
  void visit(V& v) {
    v.field("arch", arch,
            "llama = RMSNorm, RoPE, SwiGLU; gpt2 = LayerNorm, learned positions, GELU MLP", {"llama", "gpt2"});
    v.field("n_layer", n_layer, "number of transformer blocks");
    v.field("n_head", n_head, "attention (query) heads per block");
    v.field("n_kv_head", n_kv_head, "key/value heads (grouped-query attention); 0 = n_head");
    v.field("d_model", d_model, "residual stream width");
    v.field("vocab_size", vocab_size, "vocabulary size; 0 = taken from the tokenizer of the data");
    v.field("max_seq_len", max_seq_len,
            "longest sequence the model sees: size of gpt2's position table, context window of generation");
    v.field("tie_embeddings", tie_embeddings, "share the token embedding with the output projection");
    v.field("bias", bias, "biases in every linear layer and LayerNorm (GPT-2 had them; LLaMA has none)");
    v.field("init_std", init_std, "std of the normal init of every weight matrix and embedding");
    v.field("scaled_residual_init", scaled_residual_init,
            "GPT-2: init the projections into the residual stream with init_std/sqrt(2*n_layer)");
    v.field("rope_theta", rope_theta, "RoPE base frequency (llama)");
    v.field("norm_eps", norm_eps, "epsilon of RMSNorm/LayerNorm");
    v.field("dropout", dropout, "dropout on embeddings, attention weights and residual branches (training only)");
    v.section("ffn", ffn);
  }

  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t head_dim() const { return d_model / n_head; }
};

}  // namespace lmlab
