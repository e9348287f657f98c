// Self-attention and its registry (see attention.h).
#include "lmlab/model/attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "lmlab/common/error.h"
#include "lmlab/model/in_dtype.h"
#include "lmlab/model/linear_rows.h"

#ifndef TORCH_VERSION_MAJOR
#error "TORCH_VERSION_MAJOR is not defined: the SDPA branch below would silently never be taken"
#endif

namespace lmlab::model {

#if TORCH_VERSION_MAJOR >= 2
// (Tq, Tk) bool, true where query i (at position Tk - Tq + i) may see key j.
static torch::Tensor causal_mask(int64_t Tq, int64_t Tk, const torch::Device& device) {
  auto ones = torch::ones({Tq, Tk}, torch::TensorOptions().dtype(torch::kBool).device(device));
  return torch::tril(ones, /*diagonal=*/Tk - Tq);
}
#endif

// (Tq, Tk) bool, true where key j is after query i: the complement of causal_mask in one op
// fewer. Undefined for a single query, the last position, which sees every key (decoding).
static torch::Tensor keys_after_query(int64_t Tq, int64_t Tk, const torch::Device& device) {
  if (Tq == 1) return {};
  auto ones = torch::ones({Tq, Tk}, torch::TensorOptions().dtype(torch::kBool).device(device));
  return ones.triu_(/*diagonal=*/Tk - Tq + 1);
}

// The softmax's dtype: fp32 at least (bf16 under autocast), fp64 for fp64 inputs (gradient checks).
static torch::ScalarType softmax_dtype(const torch::Tensor& q) {
  return q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// softmax(q k^T, -inf after the query) over the flattened heads, q (N, Tq, D), k (N, Tk, D)
// -> (N, Tq, Tk) in q's dtype, the softmax in fp32 at least: matmul, masked_fill and softmax
// without two (N, Tq, Tk) passes that do no work. The mask is written into the fresh scores in
// place (no copy), and the backward is softmax's alone: at a hidden key p = 0, so softmax's
// gradient p (g - <g, p>) is already 0 there and masked_fill's backward (zeroing it) is left out.
class CausalProbs : public torch::autograd::Function<CausalProbs> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k) {
    auto scores = torch::bmm(q, k.transpose(1, 2));  // (N, Tq, Tk)
    auto hidden = keys_after_query(q.size(1), k.size(1), q.device());
    if (hidden.defined()) scores.masked_fill_(hidden, -std::numeric_limits<double>::infinity());
    auto probs = torch::softmax(in_dtype(scores, softmax_dtype(q)), -1);
    ctx->save_for_backward({q, k, probs});
    return in_dtype(probs, q.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &probs = saved[2];
    auto g = at::_softmax_backward_data(in_dtype(grad[0], probs.scalar_type()), probs, -1, probs.scalar_type());
    g = in_dtype(g, q.scalar_type());  // (N, Tq, Tk), d loss / d scores
    return {torch::bmm(g, k), torch::bmm(g.transpose(1, 2), q)};  // (N, Tq, D), (N, Tk, D)
  }
};

}  // namespace

torch::Tensor causal_attention_explicit(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                        double dropout_p) {
  int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2), D = q.size(3);
  // 1/sqrt(D) on q (B, H, Tq, D), not on the scores (B, H, Tq, Tk): a pass over D values per
  // query instead of Tk, forward and backward (the same as the textbook's when D is a power of 4).
  auto qs = q.reshape({B * H, Tq, D}) * (1.0 / std::sqrt(static_cast<double>(D)));
  auto att = CausalProbs::apply(qs, k.reshape({B * H, Tk, D})).view({B, H, Tq, Tk});
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

// The mask of the general path, additive, broadcasting to (B, H, Tq, Tk): key_bias (B, 1, 1, Tk),
// -inf at padded keys, -inf after the query when causal; undefined when there is none.
static torch::Tensor additive_mask(const AttentionIn& in, int64_t Tq, int64_t Tk, bool causal,
                                   torch::ScalarType dtype) {
  const double neg_inf = -std::numeric_limits<double>::infinity();
  auto opts = torch::TensorOptions().dtype(dtype).device(in.x.device());
  int64_t B = in.x.size(0);
  torch::Tensor m;
  auto add = [&](const torch::Tensor& t) { m = m.defined() ? m + t : t; };
  if (in.key_bias.defined()) {
    TORCH_CHECK(in.key_bias.sizes() == torch::IntArrayRef({B, Tk}), "attention: key_bias must be (B, Tk)");
    add(in.key_bias.to(dtype).view({B, 1, 1, Tk}));
  }
  if (in.pad_mask.defined()) {
    TORCH_CHECK(in.pad_mask.sizes() == torch::IntArrayRef({B, Tk}), "attention: pad_mask must be (B, Tk)");
    auto padded = in.pad_mask.to(torch::kBool).logical_not().view({B, 1, 1, Tk});
    add(torch::zeros({B, 1, 1, Tk}, opts).masked_fill(padded, neg_inf));
  }
  auto hidden = causal ? keys_after_query(Tq, Tk, in.x.device()) : torch::Tensor();
  if (hidden.defined()) add(torch::zeros({Tq, Tk}, opts).masked_fill(hidden, neg_inf));
  return m;
}

torch::Tensor attention_probs(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& mask) {
  auto dtype = q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto att = (torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)))).to(dtype);
  if (mask.defined()) att = att + mask.to(dtype);
  return torch::softmax(att, -1).to(q.scalar_type());  // (B, H, Tq, Tk)
}

AttentionOptions AttentionOptions::from(const ModelConfig& cfg) {
  AttentionOptions o;
  o.d_model = cfg.d_model;
  o.n_head = cfg.n_head;
  o.n_kv_head = cfg.n_kv_head;
  o.bias = cfg.bias;
  o.dropout = cfg.dropout;
  o.causal = true;
  return o;
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const AttentionOptions& o) : o_(o) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(o.bias)); };
  int64_t D = o.head_dim();
  wq = register_module("wq", linear(o.d_model, o.n_head * D));
  if (o.has_kv) {
    wk = register_module("wk", linear(o.d_model, o.kv_heads() * D));
    wv = register_module("wv", linear(o.d_model, o.kv_heads() * D));
  }
  wo = register_module("wo", linear(o.n_head * D, o.d_model));
}

void MultiHeadAttentionImpl::init_weights(double std, double out_std) {
  torch::NoGradGuard no_grad;
  for (auto* l : {&wq, &wk, &wv, &wo}) {
    if (!*l) continue;
    (*l)->weight.normal_(0.0, l == &wo ? out_std : std);
    if ((*l)->bias.defined()) (*l)->bias.zero_();
  }
}

double MultiHeadAttentionImpl::flops_per_token(int64_t Tk) const {
  double macs = 0;
  for (const auto* l : {&wq, &wk, &wv, &wo})
    if (*l) macs += static_cast<double>((*l)->weight.numel());
  return 2.0 * macs + 4.0 * static_cast<double>(Tk * o_.n_head * o_.head_dim());
}

// y = att V with att = in.probs (reuse), or causal_attention (the fast path: nothing special
// asked), or SDPA with the additive mask (libtorch >= 2, probabilities not asked), or the
// explicit softmax. q, k, v: (B, H, Tq|Tk, D) -> (B, H, Tq, D).
torch::Tensor MultiHeadAttentionImpl::mix(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                          const AttentionIn& in, AttentionOut& out) {
  double p = is_training() ? o_.dropout : 0.0;
  auto dropped = [&](const torch::Tensor& att) { return p > 0 ? torch::dropout(att, p, /*train=*/true) : att; };
  if (in.probs.defined()) {
    if (in.run_discarded) {  // the released code's wasted work, for the benchmark
      (void)attention_probs(q, k, additive_mask(in, q.size(2), k.size(2), o_.causal, torch::kFloat32));
    }
    // (B, H, T, Tk) from the layer that computed it; the last query's row alone when asked
    auto probs = in.last_query_only ? in.probs.narrow(2, in.probs.size(2) - 1, 1) : in.probs;
    return torch::matmul(dropped(in_dtype(probs, v.scalar_type())), v);
  }
  bool plain = !in.pad_mask.defined() && !in.key_bias.defined() && !in.want_probs;
  if (plain && o_.causal) return causal_attention(q, k, v, p);
  int64_t Tq = q.size(2), Tk = k.size(2);
#if TORCH_VERSION_MAJOR >= 2
  if (!in.want_probs) {
    auto mask = additive_mask(in, Tq, Tk, o_.causal, q.scalar_type());
    if (!mask.defined()) return at::scaled_dot_product_attention(q, k, v, {}, p, /*is_causal=*/false);
    return at::scaled_dot_product_attention(q, k, v, mask, p, /*is_causal=*/false);
  }
#endif
  auto dtype = q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  auto probs = attention_probs(q, k, additive_mask(in, Tq, Tk, o_.causal, dtype));  // (B, H, Tq, Tk)
  if (in.want_probs) out.probs = probs;
  return torch::matmul(dropped(probs), v);
}

AttentionOut MultiHeadAttentionImpl::forward(const AttentionIn& in) {
  const auto& x = in.x;  // (B, T, C)
  int64_t B = x.size(0), T = x.size(1), H = o_.n_head, Hkv = o_.kv_heads(), D = o_.head_dim();
  const bool reuse = in.probs.defined(), shared = in.shared_k.defined();
  const bool run_qk = !reuse || in.run_discarded;
  TORCH_CHECK(!(reuse && in.want_key_mean && !in.run_discarded), "attention: a reusing layer computes no keys to average");
  TORCH_CHECK(shared || o_.has_kv, "attention: a layer without wk, wv needs shared keys and values");
  auto heads = [&](const torch::Tensor& t, int64_t h) { return t.view({B, t.size(1), h, D}).transpose(1, 2); };
  TORCH_CHECK(!in.last_query_only || o_.causal, "attention: last_query_only needs causal attention");
  // The queries' rows of x and their RoPE tables: all T, or the last one.
  const int64_t Tq = in.last_query_only ? 1 : T;
  RopeTables q_rope;
  if (in.rope) q_rope = Tq == T ? *in.rope : RopeTables{in.rope->cos.narrow(0, T - 1, 1), in.rope->sin.narrow(0, T - 1, 1)};
  torch::Tensor q, k, v;
  if (run_qk) q = heads(linear_rows(wq, Tq == T ? x : x.narrow(1, T - 1, 1)), H);  // (B, H, Tq, D)
  if (shared) {
    k = in.shared_k;  // (B, Hkv, Tk, D), already rotated and cached by the layer that made them
    v = in.shared_v;
  } else {
    if (run_qk) k = heads(linear_rows(wk, x), Hkv);  // (B, Hkv, T, D)
    v = heads(linear_rows(wv, x), Hkv);
  }
  if (in.rope && q.defined()) q = apply_rope(q, q_rope);
  if (in.rope && k.defined() && !shared) k = apply_rope(k, *in.rope);
  auto append = [](torch::Tensor* cache, torch::Tensor& t) {
    if (!cache || !t.defined()) return;
    if (cache->defined()) t = torch::cat({*cache, t}, 2);
    *cache = t;
  };
  if (!shared) {
    append(in.k_cache, k);
    append(in.v_cache, v);
  }
  AttentionOut out;
  if (in.want_key_mean) out.key_mean = k.mean(1);  // (B, Tk, D)
  if (in.want_kv) {
    out.k = k;
    out.v = v;
  }
  if (Hkv != H) {  // each key/value head serves H / Hkv query heads
    if (k.defined()) k = k.repeat_interleave(H / Hkv, 1);
    v = v.repeat_interleave(H / Hkv, 1);
  }
  auto y = mix(q, k, v, in, out);  // (B, H, Tq, D)
  out.y = linear_rows(wo, y.transpose(1, 2).contiguous().view({B, Tq, H * D}));
  return out;
}

AttentionRegistry& AttentionRegistry::instance() {
  static AttentionRegistry registry = [] {
    AttentionRegistry r;
    r.add("mha", [](const AttentionOptions& o) { return std::make_shared<MultiHeadAttentionImpl>(o); });
    return r;
  }();
  return registry;
}

void AttentionRegistry::add(const std::string& name, AttentionFactory factory) {
  if (!factories_.emplace(name, std::move(factory)).second)
    throw std::logic_error("attention type '" + name + "' registered twice");
}

std::shared_ptr<AttentionBlockImpl> AttentionRegistry::make(const std::string& name, const AttentionOptions& o) const {
  auto it = factories_.find(name);
  if (it == factories_.end())
    throw UserError("model.attention.type: unknown attention type '" + name + "'" + did_you_mean(name, names()));
  return it->second(o);
}

std::vector<std::string> AttentionRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

}  // namespace lmlab::model

std::vector<std::string> lmlab::attention_type_names() { return model::AttentionRegistry::instance().names(); }
