// The decoder's parameters from its config (see param_count.h). Each function below mirrors one
// constructor: the tensors it registers, in registration order, and its active_params() and
// flops_per_token(); the checks mirror the ones those constructors make, with the same lines.
#include "lmlab/train/param_count.h"

#include <cmath>
#include <map>

#include "lmlab/common/error.h"
#include "lmlab/model/decoder_check.h"
#include "lmlab/model/ffn_dense.h"
#include "lmlab/model/moe/moe_common.h"

namespace lmlab::train {

namespace {

// What a sub-module adds: its parameters, those active per token, forward FLOPs per token.
struct Part {
  double params = 0, active = 0, flops = 0;
};

// Collects parameters under a name prefix ("blocks.3.ffn."); names only when asked.
struct Sink {
  bool names = false;
  std::string prefix;
  std::vector<std::pair<std::string, int64_t>>* out = nullptr;
  double total = 0;

  void add(const std::string& name, double n) {
    total += n;
    if (names) out->emplace_back(prefix + name, std::llround(n));
  }
  Sink sub(const std::string& name) const { return {names, names ? prefix + name + "." : "", out, 0}; }
  double linear(const std::string& name, double in, double out_features, bool bias) {
    Sink s = sub(name);
    s.add("weight", in * out_features);
    if (bias) s.add("bias", out_features);
    total += s.total;
    return in * out_features;  // the weight's multiply-accumulates per token
  }
};

void check(bool ok, const std::string& problem) {
  if (!ok) throw UserError("[model.ffn]: " + problem);
}

// model::Norm from NormOptions::from: RMSNorm (llama) or LayerNorm (+ bias with [model] bias).
void norm(Sink& s, const std::string& name, const ModelConfig& m) {
  Sink n = s.sub(name);
  n.add("weight", static_cast<double>(m.d_model));
  if (m.arch != "llama" && m.bias) n.add("bias", static_cast<double>(m.d_model));
  s.total += n.total;
}

// model::DenseFfnImpl (DenseFfnOptions::from).
Part dense(Sink& s, const ModelConfig& m) {
  const double d = static_cast<double>(m.d_model), h = static_cast<double>(model::default_ffn_hidden(m));
  double macs = s.linear("w1", d, h, m.bias);  // one statement each: the names in creation order
  macs += s.linear("w2", h, d, m.bias);
  if (m.arch == "llama") macs += s.linear("w3", d, h, m.bias);
  return {s.total, s.total, 2 * macs};
}

// moe::ExpertBankImpl: n SwiGLU experts d -> hidden -> d.
double bank(Sink& s, const std::string& name, double n, double d, double hidden) {
  Sink b = s.sub(name);
  b.add("w_gate", n * d * hidden);
  b.add("w_up", n * d * hidden);
  b.add("w_down", n * hidden * d);
  s.total += b.total;
  return 3 * d * hidden;  // per expert
}

// moe::RoutedMoeImpl (RoutedMoeOptions::from); hash_moe has no learned router.
Part routed(Sink& s, const ModelConfig& m, bool learned_router) {
  const FfnConfig& f = m.ffn;
  const double d = static_cast<double>(m.d_model), E = static_cast<double>(f.n_experts);
  const int64_t eh = model::moe::expert_hidden(m);
  const double sh = static_cast<double>(f.shared_hidden > 0 ? f.shared_hidden : eh);
  double active = static_cast<double>(f.top_k) * bank(s, "experts", E, d, static_cast<double>(eh));
  if (learned_router) active += s.linear("router", d, E, false);
  if (f.n_shared > 0) {
    active += static_cast<double>(f.n_shared) * bank(s, "shared", static_cast<double>(f.n_shared), d, sh);
    if (f.shared_mix == "coefficient") active += s.linear("coefficient", d, 2, true) + 2;
  }
  return {s.total, active, 2 * active};
}

// moe::CartesianMoeImpl: mid_norm (its own parameter, listed first), then the two sub-layers.
Part cartesian(Sink& s, const ModelConfig& m) {
  s.add("mid_norm", static_cast<double>(m.d_model));
  Sink s1 = s.sub("sub1"), s2 = s.sub("sub2");
  const Part a = routed(s1, m, true);
  const Part b = routed(s2, m, true);
  s.total += s1.total + s2.total;
  const double active = a.active + b.active + static_cast<double>(m.d_model);
  return {s.total, active, 2 * active};
}

// moe::DsMoeImpl: the dense SwiGLU FFN (no biases) and a gate over its n blocks.
Part dsmoe(Sink& s, const ModelConfig& m) {
  const FfnConfig& f = m.ffn;
  const int64_t h = model::moe::dense_hidden(m);
  check(f.dsmoe_tau > 0 && f.dsmoe_tau < 1, "dsmoe_tau must be in (0, 1)");
  const bool topk = f.dsmoe_router == "topk";
  if (topk) check(f.top_k <= f.dsmoe_n, "top_k must be in 1..dsmoe_n with dsmoe_router = topk");
  if (f.dsmoe_n < 1 || h % f.dsmoe_n != 0)
    throw UserError("[model.ffn] dsmoe_n = " + std::to_string(f.dsmoe_n) + " must divide the FFN hidden width " +
                    std::to_string(h));
  const double d = static_cast<double>(m.d_model), n = static_cast<double>(f.dsmoe_n);
  double ffn = s.linear("w1", d, static_cast<double>(h), false);
  ffn += s.linear("w2", static_cast<double>(h), d, false);
  ffn += s.linear("w3", d, static_cast<double>(h), false);
  const double gate = s.linear("gate", d, n, false);
  const double active = (topk ? ffn / n * static_cast<double>(f.top_k) : ffn) + gate;
  return {s.total, active, 2 * active};
}

// moe::FinedeepImpl: its own routers and norms first (registration order), then the M banks.
Part finedeep(Sink& s, const ModelConfig& m) {
  const FfnConfig& f = m.ffn;
  const int64_t h = model::moe::dense_hidden(m);
  if (f.finedeep_m < 1 || f.finedeep_k < 1 || h % (f.finedeep_m * f.finedeep_k) != 0)
    throw UserError("[model.ffn] finedeep_m * finedeep_k = " + std::to_string(f.finedeep_m * f.finedeep_k) +
                    " must divide the FFN hidden width " + std::to_string(h));
  const double d = static_cast<double>(m.d_model), K = static_cast<double>(f.finedeep_k);
  for (int64_t i = 0; i < f.finedeep_m; ++i) {
    s.add("router" + std::to_string(i), K * d);
    if (i > 0) s.add("norm" + std::to_string(i), d);
  }
  const double width = static_cast<double>(h / (f.finedeep_m * f.finedeep_k));
  for (int64_t i = 0; i < f.finedeep_m; ++i) bank(s, "experts" + std::to_string(i), K, d, width);
  return {s.total, s.total, 2 * s.total};
}

// The FFN the registry builds for `layer` (moe::make_moe_block, dense where it places none).
// Nothing for a type this file does not know.
std::optional<Part> ffn(Sink& s, const ModelConfig& m, int64_t layer) {
  const FfnConfig& f = m.ffn;
  const std::string& t = f.type;
  if (t == "dense" || !model::moe::is_moe_layer(f, layer)) return dense(s, m);
  const bool routed_type = t == "moe" || t == "hash_moe" || t == "topp_moe" || t == "mask_moe" || t == "cartesian_moe";
  if (routed_type) {  // routed_options()
    check(f.n_experts >= 1, "n_experts must be >= 1");
    check(f.top_k >= 1 && f.top_k <= f.n_experts, "top_k must be in 1..n_experts");
    check(f.n_shared >= 0, "n_shared must be >= 0");
    check(f.capacity_factor >= 0, "capacity_factor must be >= 0 (0 = dropless)");
  }
  if (t == "moe") return routed(s, m, true);
  if (t == "hash_moe") return routed(s, m, false);
  if (t == "topp_moe") {
    check(f.top_p > 0 && f.top_p <= 1, "top_p must be in (0, 1]");
    return routed(s, m, true);
  }
  if (t == "mask_moe") {
    check(f.mask_frequent_share >= 0 && f.mask_frequent_share <= 1, "mask_frequent_share must be in [0, 1]");
    if (f.mask_visible < 1 || f.mask_visible > f.n_experts)
      throw UserError("[model.ffn] mask_visible (" + std::to_string(f.mask_visible) + ") must be in [1, n_experts = " +
                      std::to_string(f.n_experts) + "]");
    return routed(s, m, true);
  }
  if (t == "cartesian_moe") return cartesian(s, m);
  if (t == "dsmoe") return dsmoe(s, m);
  if (t == "finedeep") return finedeep(s, m);
  return std::nullopt;
}

struct LayerPart {
  Part ffn;
  double params = 0, flops = 0;  // the whole block; attention + FFN forward FLOPs
};

// model::BlockImpl of `layer` with its SuperBlock role: attn_norm, attn (MultiHeadAttentionImpl,
// no wk/wv on a CLA layer that reuses K/V), ffn_norm, ffn, and wc (UniAttn compensation).
std::optional<LayerPart> block(Sink& s, const ModelConfig& m, int64_t layer, UnifyRole role, int64_t T) {
  const bool reuse = role == UnifyRole::kReuse, share_kv = m.attention.share == "kv";
  const double d = static_cast<double>(m.d_model), hd = static_cast<double>(m.head_dim());
  const double q = static_cast<double>(m.n_head) * hd, kv = static_cast<double>(m.kv_heads()) * hd;
  norm(s, "attn_norm", m);
  Sink a = s.sub("attn");
  double macs = a.linear("wq", d, q, m.bias);
  if (!(reuse && share_kv)) {
    macs += a.linear("wk", d, kv, m.bias);
    macs += a.linear("wv", d, kv, m.bias);
  }
  macs += a.linear("wo", q, d, m.bias);
  s.total += a.total;
  norm(s, "ffn_norm", m);
  Sink f = s.sub("ffn");
  const std::optional<Part> p = ffn(f, m, layer);
  if (!p) return std::nullopt;
  s.total += f.total;
  if (reuse && !share_kv && m.attention.compensation) s.linear("wc", d, d, false);
  const double attn_flops = 2 * macs + 4 * static_cast<double>(T) * q;
  return LayerPart{*p, s.total, attn_flops + p->flops};
}

// How many layers there are of each (MoE or not, SuperBlock role), without a per-layer loop
// when there are no SuperBlocks (so the size check can count n_layer = 1e9).
std::map<std::pair<bool, UnifyRole>, std::pair<int64_t, double>> layer_kinds(const ModelConfig& m) {
  std::map<std::pair<bool, UnifyRole>, std::pair<int64_t, double>> kinds;  // -> (first layer, count)
  auto add = [&](bool moe, UnifyRole role, int64_t layer, double n) {
    if (n <= 0) return;
    kinds.try_emplace({moe, role}, layer, 0.0).first->second.second += n;
  };
  const FfnConfig& f = m.ffn;
  const int64_t L = m.n_layer;
  if (m.attention.unify_group != 1) {  // SuperBlocks: one role per layer
    const std::vector<UnifyRole> roles = unify_roles(m.attention, L);
    for (int64_t l = 0; l < L; ++l) add(f.type != "dense" && model::moe::is_moe_layer(f, l), roles[l], l, 1);
    return kinds;
  }
  const double all = static_cast<double>(L);
  if (f.type == "dense" || f.moe_layers == "all") {
    add(f.type != "dense", UnifyRole::kPlain, 0, all);
  } else if (f.moe_layers == "every") {  // layers 0, p, 2p, ...
    const int64_t p = std::max<int64_t>(f.moe_every, 1);
    const double moe = static_cast<double>((L + p - 1) / p);
    add(true, UnifyRole::kPlain, 0, moe);
    add(false, UnifyRole::kPlain, 1, all - moe);
  } else {  // from
    const int64_t first = std::min(f.moe_from, L);
    add(false, UnifyRole::kPlain, 0, static_cast<double>(first));
    add(true, UnifyRole::kPlain, first, static_cast<double>(L - first));
  }
  return kinds;
}

}  // namespace

std::optional<ParamCount> count_decoder(const ModelConfig& m, int64_t seq_len, bool with_names) {
  if (m.family != "decoder" || m.attention.type != "mha") return std::nullopt;
  model::check_decoder_shape(m);  // the model constructor's own checks and lines
  if (m.attention.unify_group != 1) (void)unify_roles(m.attention, m.n_layer);  // its UserError first
  ParamCount c;
  Sink s{with_names, "", &c.names, 0};
  const double d = static_cast<double>(m.d_model), V = static_cast<double>(m.vocab_size);
  s.sub("tok_emb").add("weight", V * d);
  if (m.arch == "gpt2") s.sub("pos_emb").add("weight", static_cast<double>(m.max_seq_len) * d);
  double total = V * d + (m.arch == "gpt2" ? static_cast<double>(m.max_seq_len) * d : 0);
  double inactive = 0, flops = 2 * V * d;  // the output head
  if (with_names) {
    const std::vector<UnifyRole> roles = unify_roles(m.attention, m.n_layer);
    for (int64_t l = 0; l < m.n_layer; ++l) {
      Sink b = s.sub("blocks." + std::to_string(l));
      const auto layer = block(b, m, l, roles[l], seq_len);
      if (!layer) return std::nullopt;
      total += layer->params, inactive += layer->ffn.params - layer->ffn.active, flops += layer->flops;
    }
  } else {
    for (const auto& [kind, at] : layer_kinds(m)) {
      Sink b{false, "", nullptr, 0};
      const auto layer = block(b, m, at.first, kind.second, seq_len);
      if (!layer) return std::nullopt;
      total += at.second * layer->params, inactive += at.second * (layer->ffn.params - layer->ffn.active);
      flops += at.second * layer->flops;
    }
  }
  Sink tail{with_names, "", &c.names, 0};
  norm(tail, "norm", m);
  if (!m.tie_embeddings) tail.linear("lm_head", d, V, false);
  c.total = total + tail.total;
  c.active = c.total - inactive;
  c.train_flops_per_token = 3 * flops;
  return c;
}

}  // namespace lmlab::train
