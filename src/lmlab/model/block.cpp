// The transformer block (see block.h).
#include "lmlab/model/block.h"

namespace lmlab::model {

BlockImpl::BlockImpl(const BlockOptions& o, int64_t layer, const FfnMaker& make_ffn)
    : layer_(layer), dropout_(o.dropout), post_norm_(o.post_norm) {
  attn_norm = register_module("attn_norm", Norm(o.norm));
  attn = register_module("attn", AttentionRegistry::instance().make(o.attention, o.attn));
  ffn_norm = register_module("ffn_norm", Norm(o.norm));
  ffn = register_module("ffn", make_ffn());
  attn->init_weights(o.init_std, o.out_init_std);
  TORCH_CHECK(!(o.compensation && o.post_norm), "Block: W_c compensation needs a pre-norm block");
  if (o.compensation) {  // created last and zero: no random draw, so the base init is unchanged
    wc = register_module("wc", torch::nn::Linear(torch::nn::LinearOptions(o.attn.d_model, o.attn.d_model).bias(false)));
    torch::NoGradGuard no_grad;
    wc->weight.zero_();
  }
}

torch::Tensor BlockImpl::residual_dropout(const torch::Tensor& t) {
  return dropout_ > 0 && is_training() ? torch::dropout(t, dropout_, true) : t;
}

// Attn(x) with this layer's slice of the context; leaves the cross-layer outputs in ctx.
torch::Tensor BlockImpl::attend(const torch::Tensor& x, BlockContext& ctx) {
  AttentionIn in{x, ctx.rope};
  if (ctx.cache) {
    in.k_cache = &ctx.cache->k[layer_];
    in.v_cache = &ctx.cache->v[layer_];
  }
  in.pad_mask = ctx.pad_mask;
  in.key_bias = ctx.key_bias;
  if (ctx.reuse_probs) in.probs = ctx.probs;
  if (ctx.reuse_kv) {
    in.shared_k = ctx.k;
    in.shared_v = ctx.v;
  }
  in.run_discarded = ctx.run_discarded;
  in.want_probs = ctx.keep_probs && !ctx.reuse_probs;
  in.want_key_mean = ctx.keep_key_mean;
  in.want_kv = ctx.keep_kv && !ctx.reuse_kv;
  in.last_query_only = ctx.last_query_only;
  auto out = attn->forward(in);
  if (in.want_probs) ctx.probs = out.probs;
  if (in.want_key_mean) ctx.key_mean = out.key_mean;
  if (in.want_kv) {
    ctx.k = out.k;
    ctx.v = out.v;
  }
  if (ctx.trace_probs) ctx.trace_probs->push_back(ctx.keep_probs || ctx.reuse_probs ? ctx.probs.detach() : torch::Tensor());
  return out.y;
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, BlockContext& ctx) {
  ctx.layer = layer_;
  FfnContext f{ctx.token_ids, layer_};
  f.want_stats = ctx.ffn_stats;
  TORCH_CHECK(!(ctx.last_query_only && post_norm_), "Block: last_query_only needs a pre-norm block");
  if (post_norm_) {
    auto h = attn_norm(x + residual_dropout(attend(x, ctx)));  // (B, T, C)
    f.residual = h;
    return ffn_norm(h + residual_dropout(ffn->forward(h, f)));
  }
  auto normed = attn_norm(x);  // (B, T, C)
  auto branch = attend(normed, ctx);  // (B, T, C), or (B, 1, C) for the last query only
  // The rows the branch has: all, or the last one.
  auto rows = [&](const torch::Tensor& t) { return ctx.last_query_only ? t.narrow(1, t.size(1) - 1, 1) : t; };
  if (wc) branch = branch + wc(rows(normed));
  auto h = rows(x) + residual_dropout(branch);  // (B, T, C)
  if (ctx.trace_attn_in) ctx.trace_attn_in->push_back(normed.detach());
  if (ctx.trace_post_attn) ctx.trace_post_attn->push_back(h.detach());
  f.residual = h;
  return h + residual_dropout(ffn->forward(ffn_norm(h), f));
}

}  // namespace lmlab::model
