// LoRA attention (see lora.h).
#include "lmlab/model/lora.h"

#include <cmath>

#include "lmlab/common/error.h"

namespace lmlab::model {

LoraAttentionImpl::LoraAttentionImpl(std::shared_ptr<MultiHeadAttentionImpl> base, const LoraOptions& o)
    : o_(base->options()), lo_(o) {
  if (o_.causal || o_.kv_heads() != o_.n_head) throw UserError("[model.vit] lora_rank: LoRA needs bidirectional attention without grouped heads");
  if (o.rank <= 0) throw UserError("[model.vit] lora_rank must be > 0 for LoRA");
  wq = register_module("wq", base->wq);
  wk = register_module("wk", base->wk);
  wv = register_module("wv", base->wv);
  wo = register_module("wo", base->wo);
  const int64_t C = o_.d_model;
  lora_a = register_module("lora_a", torch::nn::Linear(torch::nn::LinearOptions(C, o.rank).bias(false)));
  lora_b = register_module("lora_b", torch::nn::Linear(torch::nn::LinearOptions(o.rank, 3 * C).bias(false)));
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_a->weight, std::sqrt(5.0));
  lora_b->weight.zero_();
}

void LoraAttentionImpl::init_weights(double std, double out_std) {
  torch::NoGradGuard no_grad;
  for (auto* l : {&wq, &wk, &wv, &wo}) {
    (*l)->weight.normal_(0.0, l == &wo ? out_std : std);
    if ((*l)->bias.defined()) (*l)->bias.zero_();
  }
}

double LoraAttentionImpl::flops_per_token(int64_t Tk) const {
  double macs = static_cast<double>(wq->weight.numel() + wk->weight.numel() + wv->weight.numel() + wo->weight.numel());
  if (!merged_) macs += static_cast<double>(lora_a->weight.numel() + lora_b->weight.numel());
  return 2.0 * macs + 4.0 * static_cast<double>(Tk * o_.n_head * o_.head_dim());
}

void LoraAttentionImpl::merge() {
  torch::NoGradGuard no_grad;
  auto delta = torch::matmul(lora_b->weight, lora_a->weight) * lo_.scale();  // (3C, C)
  auto parts = delta.chunk(3, 0);
  wq->weight.add_(parts[0]);
  wk->weight.add_(parts[1]);
  wv->weight.add_(parts[2]);
  lora_b->weight.zero_();
  merged_ = true;
}

AttentionOut LoraAttentionImpl::forward(const AttentionIn& in) {
  TORCH_CHECK(!in.rope && !in.k_cache && !in.probs.defined() && !in.pad_mask.defined(),
              "LoraAttention: bidirectional image attention only (no rope, cache, reused probs or padding)");
  const auto& x = in.x;  // (B, T, C)
  const int64_t B = x.size(0), T = x.size(1), C = o_.d_model, H = o_.n_head, D = o_.head_dim();
  auto q = wq(x), k = wk(x), v = wv(x);  // (B, T, C) each
  if (!merged_) {
    auto xin = lo_.dropout > 0 && is_training() ? torch::dropout(x, lo_.dropout, true) : x;
    auto d = lora_b(lora_a(xin)) * lo_.scale();  // (B, T, 3C)
    q = q + d.narrow(-1, 0, C);
    k = k + d.narrow(-1, C, C);
    v = v + d.narrow(-1, 2 * C, C);
  }
  auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };  // (B, H, T, D)
  q = heads(q), k = heads(k), v = heads(v);
  AttentionOut out;
  if (in.want_key_mean) out.key_mean = k.mean(1);  // (B, T, D)
  torch::Tensor mask;
  if (in.key_bias.defined()) mask = in.key_bias.view({B, 1, 1, T});
  auto probs = attention_probs(q, k, mask);  // (B, H, T, T)
  if (in.want_probs) out.probs = probs;
  if (o_.dropout > 0 && is_training()) probs = torch::dropout(probs, o_.dropout, true);
  out.y = wo(torch::matmul(probs, v).transpose(1, 2).contiguous().view({B, T, C}));
  return out;
}

}  // namespace lmlab::model
