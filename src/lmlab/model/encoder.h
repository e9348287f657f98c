// BERT-style bidirectional encoder (Devlin et al. 2019), [model] family = "encoder":
//   x   = LayerNorm(tok_emb[ids] + pos_emb[0..T) + seg_emb[segments])          (B, T, C)
//   x   = Block(x) per layer, post-norm:  h = LN(x + Attn(x)),  x = LN(h + FFN(h))
//         (bidirectional attention, padded keys masked; FFN = w2 gelu(w1 x))
//   MLM logits  = (LN(gelu(W_t h + b_t))) tok_emb^T + mlm_bias                  (B, T, V), tied
//   pooled      = h_[CLS] = h[:, 0]   or, with [model.encoder] tanh_pooler, tanh(W_p h_0 + b_p)
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lmlab/model/backbone.h"

namespace lmlab::model {

class EncoderImpl : public BackboneImpl {
 public:
  explicit EncoderImpl(const ModelConfig& cfg);

  // Final hidden states (B, T, C). Rows at padded positions are computed but no real token
  // attends to them, so the real rows do not depend on the padding.
  torch::Tensor hidden(const BackboneInput& in);
  // hidden (..., C) -> MLM logits (..., V); gather the masked rows first to save the head's cost.
  torch::Tensor mlm_logits(const torch::Tensor& hidden);
  // hidden (B, T, C) -> (B, C): the [CLS] row (through the tanh pooler when configured).
  torch::Tensor pool(const torch::Tensor& hidden);

  torch::Tensor pooled(const BackboneInput& in) override { return pool(hidden(in)); }
  int64_t feature_dim() const override { return cfg_.d_model; }
  // 3 x forward FLOPs of pooled() on max_seq_len tokens (MLM head not included).
  double train_flops_per_sample() const override;
  // Forward FLOPs of the MLM head per token it is applied to: 2 (C^2 + V C).
  double mlm_flops_per_token() const;
  // The output matrix of the MLM head: tok_emb's weight itself (tied).
  const torch::Tensor& mlm_weight() const { return tok_emb->weight; }
  const ModelConfig& config() const { return cfg_; }

  torch::nn::Embedding tok_emb{nullptr}, pos_emb{nullptr}, seg_emb{nullptr};
  Norm emb_norm{nullptr}, mlm_norm{nullptr};
  std::vector<Block> blocks;
  torch::nn::Linear mlm_dense{nullptr}, pooler{nullptr};  // pooler: tanh_pooler only
  torch::Tensor mlm_bias;                                 // (V)

 private:
  ModelConfig cfg_;
};
TORCH_MODULE(Encoder);

}  // namespace lmlab::model
