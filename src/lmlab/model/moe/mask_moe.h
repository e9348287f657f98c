// MaskMoE (Su et al. 2024, arXiv 2407.09816), [model.ffn] type = "mask_moe": a fixed
// vocabulary x experts routing mask M of 0 (visible) / -inf is added to the router logits,
//   p = softmax(W_r u_t + M[v_t]);  I, w = TopK(p, k);  y_t = sum_{i in I} w_i FFN_i(u_t) (+ shared)
// An infrequent token sees exactly 1 expert (always the same one), a frequent token V
// (mask_visible). Open in the paper, our options: "frequent" = the most frequent
// mask_frequent_share of the vocabulary; each token's visible experts are the first 1 or V
// entries of a random permutation drawn from the seed (so an infrequent token's expert is
// also one of the experts it would see as frequent); one mask per layer (seed + layer) or
// one for all layers (mask_per_layer).
//
// Frequencies come from the training shards: the trainer calls set_token_frequencies(counts)
// (or the free function below on the whole model) before training. Until then every token is
// treated as frequent. The mask is a buffer, so checkpoints keep it.
#pragma once
#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe {

class MaskMoeImpl : public RoutedMoeImpl {
 public:
  MaskMoeImpl(const RoutedMoeOptions& opt, int64_t vocab_size, int64_t visible, double frequent_share, uint64_t seed);
  // counts: (vocab) token counts of the training data; rebuilds the mask.
  void set_token_frequencies(const torch::Tensor& counts);

  torch::Tensor mask;           // (vocab, E) float: 0 visible, -inf hidden
  torch::Tensor expert_order;   // (vocab, V) int64: visible experts, first entry = the infrequent one
  int64_t visible;
  double frequent_share;

  Routing route(const torch::Tensor& u, const FfnContext& ctx) override;

 private:
  void build_mask(const torch::Tensor& frequent);  // frequent: (vocab) bool
};

// Calls set_token_frequencies on every MaskMoE block inside `model`; returns how many.
int64_t set_token_frequencies(torch::nn::Module& model, const torch::Tensor& counts);

}  // namespace lmlab::model::moe
