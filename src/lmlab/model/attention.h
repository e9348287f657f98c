// Multi-head self-attention with optional grouped-query heads (n_kv_head < n_head):
//   Attention(Q, K, V) = softmax(Q K^T / sqrt(D) + M + b) V
// M_ij = -inf where key j is after query i (causal) or is padding (pad_mask false); b_j is an
// optional additive key bias (ToMe's proportional attention adds log(size_j)).
// Plain causal attention (the decoder's training and decoding) takes the fast path: on
// libtorch >= 2 at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA), on
// 1.13 the explicit masked softmax, which is also the reference in tests.
// Attention blocks come from a registry ([model.attention] type = "mha"), as the FFNs do.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lmlab/model/model_config.h"
#include "lmlab/model/rope.h"

namespace lmlab::model {

struct AttentionOptions {
  int64_t d_model = 0;
  int64_t n_head = 0;
  int64_t n_kv_head = 0;  // 0 = n_head
  bool bias = false;      // in wq, wk, wv, wo
  double dropout = 0.0;   // on the softmax matrix, training only
  bool causal = true;     // false: bidirectional (encoder, ViT)
  bool has_kv = true;     // false: no wk, wv; keys and values come from another layer (CLA)

  // The decoder's attention: causal, from [model] n_head, n_kv_head, d_model, bias, dropout.
  static AttentionOptions from(const ModelConfig& cfg);
  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t head_dim() const { return d_model / n_head; }
};

// What one attention call gets. Only `x` is required; `AttentionIn{x}` is the common call.
struct AttentionIn {
  torch::Tensor x = {};                   // (B, T, C)
  const RopeTables* rope = nullptr;  // null: no rotary positions (gpt2, encoder, ViT)
  // KV cache of this layer, (B, Hkv, T_cached, D) each, undefined when empty: the new keys and
  // values are appended and the queries attend to everything cached.
  torch::Tensor* k_cache = nullptr;
  torch::Tensor* v_cache = nullptr;
  torch::Tensor pad_mask = {};  // (B, Tk) bool, true = real key; padded keys get weight 0
  torch::Tensor key_bias = {};  // (B, Tk) float, added to every query's logits of key j
  // (B, H, T, Tk) a softmax matrix from another layer (UniAttn): used instead of computing
  // softmax(QK^T); wq and wk are not run. Masks and biases are then already in it.
  torch::Tensor probs = {};
  // With `probs`: still run wq, wk, RoPE, the K cache and the softmax, and throw the result
  // away, as UniAttn's released code does (the benchmark's "as released" variant).
  bool run_discarded = false;
  // (B, Hkv, Tk, D) keys (rotated) and values of another layer, cache included (CLA): used
  // instead of this layer's own; nothing is appended to this layer's cache.
  torch::Tensor shared_k = {}, shared_v = {};
  bool want_probs = false;     // return the softmax matrix (forces the explicit path)
  bool want_key_mean = false;  // return the keys averaged over heads (ToMe's merge metric)
  bool want_kv = false;        // return the keys and values attended to (for CLA's next layers)
  // Only the last of the T queries (y is (B, 1, C), probs (B, H, 1, Tk)); keys and values, the
  // cache and `probs` cover every position as usual. Causal attention only.
  bool last_query_only = false;
};

struct AttentionOut {
  torch::Tensor y;         // (B, T, C)
  torch::Tensor probs;     // (B, H, T, Tk) before dropout, rows sum to 1; when asked
  torch::Tensor key_mean;  // (B, Tk, D) mean over key/value heads of the (rotated) keys; when asked
  torch::Tensor k, v;      // (B, Hkv, Tk, D) rotated keys and values incl. the cache; when asked
};

// q: (B, H, Tq, D); k, v: (B, H, Tk, D) with Tk >= Tq. The queries are the LAST Tq positions of
// the Tk keys (query i sits at position Tk - Tq + i), so this covers training (Tq == Tk) and
// incremental decoding with a KV cache. Returns (B, H, Tq, D).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               double dropout_p);
// The masked-softmax path, usable on every libtorch version.
torch::Tensor causal_attention_explicit(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        double dropout_p);

// softmax(q k^T / sqrt(D) + mask) in fp32 at least, returned in q's dtype: (B, H, Tq, Tk).
// `mask` is additive and broadcasts to that shape (undefined = none).
torch::Tensor attention_probs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& mask);

// The registry's interface: every attention variant maps AttentionIn to AttentionOut.
class AttentionBlockImpl : public torch::nn::Module {
 public:
  virtual AttentionOut forward(const AttentionIn& in) = 0;
  // Weights ~ N(0, std^2), the output projection ~ N(0, out_std^2), biases 0. Separate from the
  // constructor because the decoder draws its FFN's init between the two (RNG order is pinned
  // by the golden runs).
  virtual void init_weights(double std, double out_std) = 0;
  // Forward FLOPs per query token attending to Tk keys: 2 x projection MACs + 4 Tk H D
  // (Q K^T and att V over the full Tk square).
  virtual double flops_per_token(int64_t Tk) const = 0;
};

// "mha": multi-head attention; grouped-query heads when n_kv_head < n_head (each key/value head
// serves n_head / n_kv_head query heads). Parameters: wq (C -> H*D), wk, wv (C -> Hkv*D),
// wo (H*D -> C), each "weight" (+ "bias"); no wk, wv when has_kv is false.
class MultiHeadAttentionImpl : public AttentionBlockImpl {
 public:
  explicit MultiHeadAttentionImpl(const AttentionOptions& o);
  AttentionOut forward(const AttentionIn& in) override;
  void init_weights(double std, double out_std) override;
  double flops_per_token(int64_t Tk) const override;
  const AttentionOptions& options() const { return o_; }

  torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wo{nullptr};

 private:
  torch::Tensor mix(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const AttentionIn& in,
                    AttentionOut& out);
  AttentionOptions o_;
};

using AttentionFactory = std::function<std::shared_ptr<AttentionBlockImpl>(const AttentionOptions&)>;

// Name -> factory, filled once by explicit registration calls (as FfnRegistry).
class AttentionRegistry {
 public:
  static AttentionRegistry& instance();
  void add(const std::string& name, AttentionFactory factory);
  // UserError naming the closest registered type when `name` is unknown.
  std::shared_ptr<AttentionBlockImpl> make(const std::string& name, const AttentionOptions& o) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, AttentionFactory> factories_;
};

}  // namespace lmlab::model
