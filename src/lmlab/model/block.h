// One transformer block, shared by the decoder, the encoder and the ViT:
//   pre-norm  (decoder, ViT):  h = x + Attn(Norm(x)) [+ W_c Norm(x)];   out = h + FFN(Norm(h))
//   post-norm (BERT):          h = Norm(x + Attn(x));   out = Norm(h + FFN(h))
// with dropout on both residual branches (training only). A BlockContext travels through the
// stack: per-layer inputs (rope tables, cache slot, masks) and cross-layer state (UniAttn's
// shared softmax matrix, ToMe's key metric).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "lmlab/model/attention.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/norm.h"

namespace lmlab::model {

// Keys and values of every layer for incremental decoding (generation).
struct KVCache {
  std::vector<torch::Tensor> k, v;  // per layer: (B, n_kv_head, T_cached, head_dim)
  int64_t length() const { return k.empty() || !k[0].defined() ? 0 : k[0].size(2); }
};

struct BlockContext {
  int64_t layer = 0;                  // set by each block to its own index before it runs
  const RopeTables* rope = nullptr;   // null: no rotary positions
  KVCache* cache = nullptr;           // a block uses slot cache->k[layer], cache->v[layer]
  torch::Tensor token_ids;            // (B, T) int64 for FfnContext; undefined for images
  bool ffn_stats = true;              // FfnContext::want_stats
  // Only the last position's output is wanted (the stack's last block when only the next
  // token's logits are): the attention computes the last query alone (every position's keys and
  // values are still computed and cached) and the block returns (B, 1, C).
  bool last_query_only = false;
  torch::Tensor pad_mask;             // (B, Tk) bool, true = real key
  torch::Tensor key_bias;             // (B, Tk) added to the attention logits of key j
  // Cross-layer state. keep_probs: each block leaves its softmax matrix in `probs`;
  // reuse_probs: the next block attends with `probs` instead of computing it (UniAttn). The
  // stack sets both per layer. keep_key_mean: each block leaves its keys' head mean in key_mean.
  // keep_kv / reuse_kv: the same for keys and values (cross-layer KV sharing, CLA).
  // run_discarded: a reusing layer also runs (and drops) what reuse saves (the released code).
  bool keep_probs = false;
  bool reuse_probs = false;
  bool keep_key_mean = false;
  bool keep_kv = false;
  bool reuse_kv = false;
  bool run_discarded = false;
  torch::Tensor probs;     // (B, H, T, Tk)
  torch::Tensor key_mean;  // (B, Tk, D)
  torch::Tensor k, v;      // (B, Hkv, Tk, D)
  // When set, each block appends its normalised attention input Norm(x) and its residual
  // stream after attention h (both (B, T, C)); `lmlab uniattn init` fits W_c from them.
  // trace_probs gets the softmax matrix a SuperBlock layer attended with (undefined elsewhere).
  std::vector<torch::Tensor>* trace_attn_in = nullptr;
  std::vector<torch::Tensor>* trace_post_attn = nullptr;
  std::vector<torch::Tensor>* trace_probs = nullptr;
};

struct BlockOptions {
  std::string attention = "mha";  // AttentionRegistry name
  AttentionOptions attn;
  NormOptions norm;
  double dropout = 0.0;  // on both residual branches
  bool post_norm = false;
  double init_std = 0.02;      // attention wq, wk, wv
  double out_init_std = 0.02;  // attention wo
  // UniAttn's linear compensation: h = x + Attn(Norm(x)) + W_c Norm(x), W_c = `wc` (C -> C, no
  // bias, zero-initialised). Pre-norm only.
  bool compensation = false;
};

// Builds the block's FFN; called between the norms so parameters keep their creation order.
using FfnMaker = std::function<std::shared_ptr<FfnBlockImpl>()>;

class BlockImpl : public torch::nn::Module {
 public:
  // Parameters, in creation order: attn_norm, attn, ffn_norm, ffn. The attention's weights are
  // initialised last, after the FFN's (the decoder's RNG order).
  BlockImpl(const BlockOptions& o, int64_t layer, const FfnMaker& make_ffn);

  torch::Tensor forward(const torch::Tensor& x, BlockContext& ctx);  // (B, T, C) -> (B, T, C)

  Norm attn_norm{nullptr}, ffn_norm{nullptr};
  std::shared_ptr<AttentionBlockImpl> attn;
  std::shared_ptr<FfnBlockImpl> ffn;
  torch::nn::Linear wc{nullptr};  // with compensation only

 private:
  torch::Tensor attend(const torch::Tensor& x, BlockContext& ctx);
  torch::Tensor residual_dropout(const torch::Tensor& t);

  int64_t layer_;
  double dropout_;
  bool post_norm_;
};
TORCH_MODULE(Block);

}  // namespace lmlab::model
