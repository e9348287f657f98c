// The decoder-only transformer every method plugs into: LLaMA-style (RMSNorm, RoPE, SwiGLU, no
// biases) or GPT-2-style (LayerNorm, learned positions, GELU), chosen by [model] arch. Each
// block's FFN comes from the FFN registry ([model.ffn] type), so MoE variants only add entries.
// Pinned so the trainer, evaluation and export can be written against it while it lands (#4).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "lmlab/model/block.h"
#include "lmlab/model/model_config.h"

namespace lmlab::model {

// Per-layer activations of one forward: Norm(x) going into attention and the residual stream
// h = x + Attn(Norm(x)) (+ W_c Norm(x)) coming out, each (B, T, C), and the softmax matrix a
// softmax-sharing SuperBlock layer attended with, (B, H, T, Tk) (undefined elsewhere); detached.
struct TransformerTrace {
  std::vector<torch::Tensor> attn_in, post_attn, probs;
};

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const ModelConfig& cfg);

  // idx: (B, T) int64 token ids -> logits (B, T, vocab_size).
  torch::Tensor forward(const torch::Tensor& idx);
  // Same, continuing from (and extending) `cache`: positions start at cache.length().
  // Equal (within fp tolerance) to the last T rows of forward() on the whole sequence.
  torch::Tensor forward_cached(const torch::Tensor& idx, KVCache& cache);
  // The logits of the next token only, (B, V): the last row of forward_cached(idx, *cache)
  // (of forward(idx) when cache is null), computing no more than that row needs (the last block
  // runs its last query alone, the head one position) and no FFN statistics. generate()'s step.
  torch::Tensor next_token_logits(const torch::Tensor& idx, KVCache* cache);
  // forward() that also records every layer's attention input and output (UniAttn's W_c fit).
  torch::Tensor forward_traced(const torch::Tensor& idx, TransformerTrace& trace);

  // [model.attention]'s SuperBlock layout, one role per layer; and one block.
  const std::vector<UnifyRole>& unify_roles() const;
  Block block(int64_t layer) const;

  // Sum over layers of the FFN auxiliary losses of the last forward (already weighted);
  // an undefined tensor when no block has one.
  torch::Tensor aux_loss() const;
  // Per-layer routing statistics of the last forward ({"layer3": {...}, ...}).
  nlohmann::json ffn_stats() const;

  int64_t total_params() const;
  int64_t active_params() const;  // parameters touched per token (embeddings counted once)
  // total_params() without the token and position embeddings: the N of Kaplan et al. (2020)'s
  // scaling laws (an untied output head is counted; a tied one is the embedding).
  int64_t non_embedding_params() const;
  // Forward+backward FLOPs per token at sequence length T, for MFU: 3 x the forward's
  // 2 x (multiply-accumulates of every weight matrix, FFN as reported by its block, output head)
  // + 12 L T d for the attention scores = 6N + 12LTd for a dense model (docs/model.md).
  double train_flops_per_token(int64_t T) const;

  const ModelConfig& config() const { return cfg_; }

 private:
  torch::Tensor forward_impl(const torch::Tensor& idx, KVCache* cache, TransformerTrace* trace, bool next_only);

  ModelConfig cfg_;
  struct Layers;  // defined by the implementation
  std::shared_ptr<Layers> layers_;
};
TORCH_MODULE(Transformer);

}  // namespace lmlab::model
