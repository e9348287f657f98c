// Causal self-attention (see attention.h).
#include "lmlab/model/attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#ifndef TORCH_VERSION_MAJOR
#error "TORCH_VERSION_MAJOR is not defined: the SDPA branch below would silently never be taken"
#endif

namespace lmlab::model {

// (Tq, Tk) bool, true where query i (at position Tk - Tq + i) may see key j.
static torch::Tensor causal_mask(int64_t Tq, int64_t Tk, const torch::Device& device) {
  auto ones = torch::ones({Tq, Tk}, torch::TensorOptions().dtype(torch::kBool).device(device));
  return torch::tril(ones, /*diagonal=*/Tk - Tq);
}

torch::Tensor causal_attention_explicit(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        double dropout_p) {
  int64_t Tq = q.size(2), Tk = k.size(2);
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));  // (B, H, Tq, Tk)
  att = att.masked_fill(causal_mask(Tq, Tk, q.device()).logical_not(), -std::numeric_limits<double>::infinity());
  // softmax in fp32 at least (bf16 under autocast), fp64 for fp64 inputs (gradient checks)
  auto dtype = q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  att = torch::softmax(att.to(dtype), -1).to(q.scalar_type());
  if (dropout_p > 0) att = torch::dropout(att, dropout_p, /*train=*/true);
  return torch::matmul(att, v);
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double dropout_p) {
#if TORCH_VERSION_MAJOR >= 2
  int64_t Tq = q.size(2), Tk = k.size(2);
  // SDPA's is_causal aligns the mask top-left, which is right only when Tq == Tk; a single new
  // query sees every cached key; otherwise pass the bottom-right-aligned mask explicitly.
  if (Tq == Tk) return at::scaled_dot_product_attention(q, k, v, {}, dropout_p, /*is_causal=*/true);
  if (Tq == 1) return at::scaled_dot_product_attention(q, k, v, {}, dropout_p, /*is_causal=*/false);
  return at::scaled_dot_product_attention(q, k, v, causal_mask(Tq, Tk, q.device()), dropout_p, false);
#else
  return causal_attention_explicit(q, k, v, dropout_p);
#endif
}

AttentionImpl::AttentionImpl(const ModelConfig& cfg)
    : n_head_(cfg.n_head), n_kv_head_(cfg.kv_heads()), head_dim_(cfg.head_dim()), dropout_(cfg.dropout) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(cfg.bias)); };
  wq = register_module("wq", linear(cfg.d_model, n_head_ * head_dim_));
  wk = register_module("wk", linear(cfg.d_model, n_kv_head_ * head_dim_));
  wv = register_module("wv", linear(cfg.d_model, n_kv_head_ * head_dim_));
  wo = register_module("wo", linear(n_head_ * head_dim_, cfg.d_model));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const RopeTables* rope, torch::Tensor* k_cache,
                                     torch::Tensor* v_cache) {
  int64_t B = x.size(0), T = x.size(1);
  auto heads = [&](const torch::Tensor& t, int64_t h) { return t.view({B, T, h, head_dim_}).transpose(1, 2); };
  auto q = heads(wq(x), n_head_);     // (B, H, T, D)
  auto k = heads(wk(x), n_kv_head_);  // (B, Hkv, T, D)
  auto v = heads(wv(x), n_kv_head_);
  if (rope) {
    q = apply_rope(q, *rope);
    k = apply_rope(k, *rope);
  }
  if (k_cache) {
    if (k_cache->defined()) {
      k = torch::cat({*k_cache, k}, 2);
      v = torch::cat({*v_cache, v}, 2);
    }
    *k_cache = k;
    *v_cache = v;
  }
  if (n_kv_head_ != n_head_) {  // each key/value head serves n_head / n_kv_head query heads
    k = k.repeat_interleave(n_head_ / n_kv_head_, 1);
    v = v.repeat_interleave(n_head_ / n_kv_head_, 1);
  }
  auto y = causal_attention(q, k, v, is_training() ? dropout_ : 0.0);  // (B, H, T, D)
  y = y.transpose(1, 2).contiguous().view({B, T, n_head_ * head_dim_});
  return wo(y);
}

}  // namespace lmlab::model
