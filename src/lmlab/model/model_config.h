// [model] config section: which model family and its shape (see docs/model.md). The keys
// before `family` describe the decoder-only transformer; the encoder, ViT and CNN reuse those
// that mean the same for them (each key's help names its readers) and add their sub-sections.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/config/config.h"

#include "lmlab/model/attention_config.h"
#include "lmlab/model/family_config.h"
#include "lmlab/model/ffn_config.h"

namespace lmlab {

struct ModelConfig {
  std::string family = "decoder";
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
  AttentionConfig attention;
  FfnConfig ffn;
  EncoderConfig encoder;
  ImageConfig image;
  VitConfig vit;
  CnnConfig cnn;

  template <class V>
  void visit(V& v) {
    v.field("family", family,
            "decoder = causal LM (model::Transformer); encoder = BERT-style; vit = vision transformer; "
            "cnn = ResNet-style (the last three: model::make_backbone)",
            {"decoder", "encoder", "vit", "cnn"});
    v.field("arch", arch,
            "llama = RMSNorm, RoPE, SwiGLU; gpt2 = LayerNorm, learned positions, GELU MLP [decoder]", {"llama", "gpt2"});
    v.field("n_layer", n_layer, "number of transformer blocks [decoder, encoder, vit]", config::at_least(1));
    v.field("n_head", n_head, "attention (query) heads per block [decoder, encoder, vit]", config::at_least(1));
    v.field("n_kv_head", n_kv_head, "key/value heads (grouped-query attention); 0 = n_head [decoder, encoder, vit]", config::at_least(0));
    v.field("d_model", d_model, "residual stream width [decoder, encoder, vit]", config::at_least(1));
    v.field("vocab_size", vocab_size, "vocabulary size; 0 = taken from the tokenizer of the data [decoder, encoder]", config::at_least(0));
    v.field("max_seq_len", max_seq_len,
            "longest sequence the model sees: size of gpt2's position table, context window of generation; "
            "encoder: size of its position table and the length FLOPs are counted at [decoder, encoder]", config::at_least(1));
    v.field("tie_embeddings", tie_embeddings, "share the token embedding with the output projection [decoder]");
    v.field("bias", bias,
            "biases in every linear layer and LayerNorm (GPT-2 had them; LLaMA has none) [decoder; the encoder "
            "and ViT always have them, as BERT and ViT]");
    v.field("init_std", init_std, "std of the normal init of every weight matrix and embedding [decoder, encoder, vit]", config::above(0));
    v.field("scaled_residual_init", scaled_residual_init,
            "GPT-2: init the projections into the residual stream with init_std/sqrt(2*n_layer) [decoder]");
    v.field("rope_theta", rope_theta, "RoPE base frequency [decoder, llama]", config::above(0));
    v.field("norm_eps", norm_eps, "epsilon of RMSNorm/LayerNorm [decoder, encoder, vit]", config::above(0));
    v.field("dropout", dropout,
            "dropout on embeddings, attention weights and residual branches (training only) [decoder, encoder, vit]", config::from_below(0, 1));
    v.section("attention", attention);
    v.section("ffn", ffn);
    v.section("encoder", encoder);
    v.section("image", image);
    v.section("vit", vit);
    v.section("cnn", cnn);
  }

  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t head_dim() const { return d_model / n_head; }
};

}  // namespace lmlab
