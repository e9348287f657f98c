// Causal multi-head self-attention with optional grouped-query heads (n_kv_head < n_head):
//   Attention(Q, K, V) = softmax(Q K^T / sqrt(D) + M) V,   M_ij = -inf where key j is after query i.
// On libtorch >= 2 this is at::scaled_dot_product_attention (flash / memory-efficient kernels on
// CUDA); on 1.13 the explicit masked-softmax path below, which is also the reference in tests.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/model_config.h"
#include "lmlab/model/rope.h"

namespace lmlab::model {

// q: (B, H, Tq, D); k, v: (B, H, Tk, D) with Tk >= Tq. The queries are the LAST Tq positions of
// the Tk keys (query i sits at position Tk - Tq + i), so this covers training (Tq == Tk) and
// incremental decoding with a KV cache. Returns (B, H, Tq, D).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double dropout_p);
// The masked-softmax path, usable on every libtorch version.
torch::Tensor causal_attention_explicit(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        double dropout_p);

class AttentionImpl : public torch::nn::Module {
 public:
  // Parameters: wq (C -> H*D), wk, wv (C -> Hkv*D), wo (H*D -> C), each "weight" (+ "bias").
  explicit AttentionImpl(const ModelConfig& cfg);

  // x: (B, T, C) -> (B, T, C). `rope` is null for learned positions (gpt2). With a cache
  // (k_cache, v_cache: (B, Hkv, T_cached, D), undefined when empty) the new keys and values
  // are appended to it and the queries attend to everything cached.
  torch::Tensor forward(const torch::Tensor& x, const RopeTables* rope, torch::Tensor* k_cache = nullptr,
                        torch::Tensor* v_cache = nullptr);

  torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wo{nullptr};

 private:
  int64_t n_head_, n_kv_head_, head_dim_;
  double dropout_;
};
TORCH_MODULE(Attention);

}  // namespace lmlab::model
