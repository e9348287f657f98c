// The decoder-only transformer (see transformer.h and docs/model.md). Pre-norm blocks (block.h):
//   h   = x + Attention(Norm(x))  (attention from the registry: [model] attention)
//   out = h + FFN(Norm(h))        (FFN built by the registry from [model.ffn] type)
// then a final Norm and the output head (the token embedding itself when tied).
#include "lmlab/model/transformer.h"

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/model/decoder_check.h"
#include "lmlab/model/init.h"
#include "lmlab/model/linear_rows.h"

namespace lmlab::model {

namespace {

void validate_decoder(const ModelConfig& c) {
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.family != "decoder")
    fail("family \"" + c.family + "\" is not a decoder: build it with model::make_backbone (model/backbone.h)");
  check_decoder_shape(c);
}

}  // namespace

struct TransformerImpl::Layers {
  torch::nn::Embedding tok_emb{nullptr}, pos_emb{nullptr};  // pos_emb: gpt2 only
  std::vector<Block> blocks;
  std::vector<UnifyRole> roles;  // UniAttn SuperBlock layout, one per block
  Norm norm{nullptr};
  torch::nn::Linear lm_head{nullptr};  // untied only
  RopeTables rope;                     // llama: positions 0..N-1 (N >= max_seq_len), see rope_window

  RopeTables rope_window(int64_t start, int64_t T, const ModelConfig& cfg, const torch::Device& device);
};

// cos/sin of positions start..start+T-1: rows of one table per model, built once (not at
// every step, where it cost more than a layer's matmuls) and again only for a longer sequence
// (forward() accepts any length) or another device. The table is not a registered buffer, so
// checkpoints and exports do not see it.
RopeTables TransformerImpl::Layers::rope_window(int64_t start, int64_t T, const ModelConfig& cfg,
                                                const torch::Device& device) {
  const int64_t need = start + T;
  if (!rope.cos.defined() || rope.cos.size(0) < need || rope.cos.device() != device) {
    int64_t n = std::max(cfg.max_seq_len, rope.cos.defined() ? rope.cos.size(0) : int64_t{0});
    while (n < need) n *= 2;
    // A normal tensor even under InferenceMode: forward() with autograd uses it afterwards.
    c10::InferenceMode normal_tensors(false);
    rope = rope_tables(0, n, cfg.head_dim(), cfg.rope_theta, device);
  }
  return {rope.cos.narrow(0, start, T), rope.sin.narrow(0, start, T)};  // (T, D) each
}

TransformerImpl::TransformerImpl(const ModelConfig& cfg) : cfg_(cfg), layers_(std::make_shared<Layers>()) {
  validate_decoder(cfg);
  auto& m = *layers_;
  torch::NoGradGuard no_grad;
  m.tok_emb = register_module("tok_emb", torch::nn::Embedding(cfg.vocab_size, cfg.d_model));
  m.tok_emb->weight.normal_(0.0, cfg.init_std);
  if (cfg.arch == "gpt2") {
    m.pos_emb = register_module("pos_emb", torch::nn::Embedding(cfg.max_seq_len, cfg.d_model));
    m.pos_emb->weight.normal_(0.0, cfg.init_std);
  }
  BlockOptions bo;
  bo.attention = cfg.attention.type;
  bo.attn = AttentionOptions::from(cfg);
  bo.norm = NormOptions::from(cfg.d_model, cfg);
  bo.dropout = cfg.dropout;
  bo.init_std = cfg.init_std;
  bo.out_init_std = residual_init_std(cfg);
  m.roles = lmlab::unify_roles(cfg.attention, cfg.n_layer);
  const bool share_kv = cfg.attention.share == "kv";
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const bool reuse = m.roles[l] == UnifyRole::kReuse;
    BlockOptions lo = bo;
    lo.attn.has_kv = !(reuse && share_kv);
    lo.compensation = reuse && !share_kv && cfg.attention.compensation;
    Block b(lo, l, [&] { return FfnRegistry::instance().make(cfg.ffn.type, cfg, l); });
    blocks->push_back(b);
    m.blocks.push_back(b);
  }
  m.norm = register_module("norm", Norm(NormOptions::from(cfg.d_model, cfg)));
  if (!cfg.tie_embeddings) {
    m.lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(cfg.d_model, cfg.vocab_size).bias(false)));
    init_linear(m.lm_head, cfg.init_std);
  }
}

torch::Tensor TransformerImpl::forward_impl(const torch::Tensor& idx, KVCache* cache, TransformerTrace* trace,
                                           bool next_only) {
  TORCH_CHECK(idx.dim() == 2 && idx.scalar_type() == torch::kInt64, "Transformer: idx must be (B, T) int64");
  auto& m = *layers_;
  int64_t T = idx.size(1), start = cache ? cache->length() : 0;
  if (cfg_.arch == "gpt2" && start + T > cfg_.max_seq_len)
    throw UserError("[model] sequence of " + std::to_string(start + T) + " tokens is longer than max_seq_len (" +
                    std::to_string(cfg_.max_seq_len) + ") of this gpt2 model");
  if (cache && cache->k.size() != m.blocks.size()) {
    cache->k.assign(m.blocks.size(), torch::Tensor());
    cache->v.assign(m.blocks.size(), torch::Tensor());
  }

  auto x = m.tok_emb(idx);  // (B, T, C)
  RopeTables rope;
  if (cfg_.arch == "llama") {
    rope = m.rope_window(start, T, cfg_, idx.device());
  } else {
    x = x + m.pos_emb(torch::arange(start, start + T, idx.options()));
  }
  if (cfg_.dropout > 0 && is_training()) x = torch::dropout(x, cfg_.dropout, true);

  BlockContext ctx;
  ctx.rope = cfg_.arch == "llama" ? &rope : nullptr;
  ctx.cache = cache;
  ctx.token_ids = idx;
  ctx.ffn_stats = !next_only;
  if (trace) {
    ctx.trace_attn_in = &trace->attn_in;
    ctx.trace_post_attn = &trace->post_attn;
    ctx.trace_probs = &trace->probs;
  }
  const bool share_kv = cfg_.attention.share == "kv";
  for (size_t l = 0; l < m.blocks.size(); ++l) {
    const UnifyRole role = m.roles[l];
    ctx.keep_probs = !share_kv && role == UnifyRole::kFirst;
    ctx.reuse_probs = !share_kv && role == UnifyRole::kReuse;
    ctx.keep_kv = share_kv && role == UnifyRole::kFirst;
    ctx.reuse_kv = share_kv && role == UnifyRole::kReuse;
    ctx.run_discarded = ctx.reuse_probs && !cfg_.attention.skip_reused;
    ctx.last_query_only = next_only && l + 1 == m.blocks.size();
    if (ctx.last_query_only) ctx.token_ids = idx.narrow(1, T - 1, 1);  // the rows the FFN sees
    x = m.blocks[l]->forward(x, ctx);
  }
  x = m.norm(x);  // (B, T, C), or (B, 1, C) when next_only
  return cfg_.tie_embeddings ? linear_rows(x, m.tok_emb->weight) : linear_rows(m.lm_head, x);  // (B, T, V)
}

torch::Tensor TransformerImpl::forward(const torch::Tensor& idx) { return forward_impl(idx, nullptr, nullptr, false); }

torch::Tensor TransformerImpl::forward_cached(const torch::Tensor& idx, KVCache& cache) {
  return forward_impl(idx, &cache, nullptr, false);
}

torch::Tensor TransformerImpl::next_token_logits(const torch::Tensor& idx, KVCache* cache) {
  return forward_impl(idx, cache, nullptr, true).select(1, 0);  // (B, V)
}

torch::Tensor TransformerImpl::forward_traced(const torch::Tensor& idx, TransformerTrace& trace) {
  trace = TransformerTrace{};
  return forward_impl(idx, nullptr, &trace, false);
}

const std::vector<UnifyRole>& TransformerImpl::unify_roles() const { return layers_->roles; }

Block TransformerImpl::block(int64_t layer) const { return layers_->blocks.at(static_cast<size_t>(layer)); }

torch::Tensor TransformerImpl::aux_loss() const {
  torch::Tensor total;
  for (const auto& block : layers_->blocks) {
    auto a = block->ffn->aux_loss();
    if (a.defined()) total = total.defined() ? total + a : a;
  }
  return total;
}

nlohmann::json TransformerImpl::ffn_stats() const {
  auto out = nlohmann::json::object();
  for (size_t l = 0; l < layers_->blocks.size(); ++l) {
    auto s = layers_->blocks[l]->ffn->stats();
    if (!s.empty()) out["layer" + std::to_string(l)] = s;
  }
  return out;
}

int64_t TransformerImpl::total_params() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

int64_t TransformerImpl::non_embedding_params() const {
  int64_t n = total_params() - layers_->tok_emb->weight.numel();
  return layers_->pos_emb ? n - layers_->pos_emb->weight.numel() : n;
}

int64_t TransformerImpl::active_params() const {
  int64_t inactive = 0;
  for (const auto& block : layers_->blocks) {
    int64_t ffn_total = 0;
    for (const auto& p : block->ffn->parameters()) ffn_total += p.numel();
    inactive += ffn_total - block->ffn->active_params();
  }
  return total_params() - inactive;
}

double TransformerImpl::train_flops_per_token(int64_t T) const {
  double forward = 2.0 * static_cast<double>(cfg_.vocab_size * cfg_.d_model);  // output head
  for (const auto& block : layers_->blocks) forward += block->attn->flops_per_token(T) + block->ffn->flops_per_token();
  return 3.0 * forward;  // backward = 2 x forward
}

}  // namespace lmlab::model
