// LoRA (Hu et al. 2022) on the ViT's qkv projections, as PYRA's code has it
// (model/vision_transformer_timm.py, Attention):
//   [dq; dk; dv] = (alpha / rank) B A dropout(x),  A: Linear(C -> rank) kaiming-uniform(a = sqrt 5),
//                                                  B: Linear(rank -> 3C) zero-init, both without bias
//   q = Wq x + dq,  k = Wk x + dk,  v = Wv x + dv;  then bidirectional attention as "mha":
//   softmax(q k^T / sqrt(D_h) + key_bias) v, projected by Wo.
// merge() folds the update into Wq, Wk, Wv (W += (alpha / rank) B_part A) for inference; the
// merged attention computes the same output (to rounding) at the cost of plain attention.
// The wrapped attention's wq, wk, wv, wo are reused under the same names, so a checkpoint of the
// plain ViT loads into this one (train.init_from) and vice versa.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/attention.h"

namespace lmlab::model {

struct LoraOptions {
  int64_t rank = 8;
  double alpha = 0.0;    // 0 = rank (scale 1)
  double dropout = 0.1;  // on the LoRA input, training only
  double scale() const { return (alpha > 0 ? alpha : static_cast<double>(rank)) / static_cast<double>(rank); }
};

class LoraAttentionImpl : public AttentionBlockImpl {
 public:
  // `base` must be bidirectional, without grouped heads (the ViT's attention).
  LoraAttentionImpl(std::shared_ptr<MultiHeadAttentionImpl> base, const LoraOptions& o);
  AttentionOut forward(const AttentionIn& in) override;  // x, key_bias, want_key_mean, want_probs
  void init_weights(double std, double out_std) override;
  double flops_per_token(int64_t Tk) const override;

  void merge();  // W{q,k,v} += scale * B A; B = 0 afterwards; the LoRA branch is skipped
  bool merged() const { return merged_; }

  torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wo{nullptr};
  torch::nn::Linear lora_a{nullptr}, lora_b{nullptr};

 private:
  AttentionOptions o_;
  LoraOptions lo_;
  bool merged_ = false;
};
TORCH_MODULE(LoraAttention);

}  // namespace lmlab::model
