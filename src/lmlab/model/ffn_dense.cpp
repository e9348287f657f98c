// The dense FFN (see ffn_dense.h) and its registration.
#include "lmlab/model/ffn_dense.h"

#include "lmlab/model/init.h"
#include "lmlab/model/linear_rows.h"

namespace lmlab::model {

int64_t default_ffn_hidden(const ModelConfig& cfg) {
  if (cfg.ffn.hidden > 0) return cfg.ffn.hidden;
  if (cfg.arch == "gpt2") return 4 * cfg.d_model;
  int64_t h = (8 * cfg.d_model + 2) / 3;  // ceil(8d/3)
  return (h + 63) / 64 * 64;
}

DenseFfnOptions DenseFfnOptions::from(const ModelConfig& cfg) {
  DenseFfnOptions o;
  o.d_model = cfg.d_model;
  o.hidden = default_ffn_hidden(cfg);
  o.activation = cfg.arch == "llama" ? Activation::SwiGlu : Activation::GeluTanh;
  o.bias = cfg.bias;
  o.init_std = cfg.init_std;
  o.out_init_std = residual_init_std(cfg);
  o.near_zero_eps = cfg.ffn.near_zero_eps;
  return o;
}

DenseFfnImpl::DenseFfnImpl(const DenseFfnOptions& o) : activation_(o.activation), near_zero_eps_(o.near_zero_eps) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(o.bias)); };
  w1 = register_module("w1", linear(o.d_model, o.hidden));
  w2 = register_module("w2", linear(o.hidden, o.d_model));
  init_linear(w1, o.init_std);
  init_linear(w2, o.out_init_std);
  if (activation_ == Activation::SwiGlu) {
    w3 = register_module("w3", linear(o.d_model, o.hidden));
    init_linear(w3, o.init_std);
  }
}

torch::Tensor DenseFfnImpl::forward(const torch::Tensor& x, const FfnContext& ctx) {
  torch::Tensor h;  // (B, T, hidden)
  switch (activation_) {
    case Activation::SwiGlu: h = torch::silu(linear_rows(w1, x)) * linear_rows(w3, x); break;
    case Activation::GeluTanh: h = torch::gelu(linear_rows(w1, x), "tanh"); break;
    case Activation::Gelu: h = torch::gelu(linear_rows(w1, x)); break;
  }
  // Only when someone may read it: the eval path (lmlab eval, validation), not training steps
  // and not the generator's, where 4 more ops per layer and token cost more than the matmuls.
  stats_.clear();
  if (ctx.want_stats && !is_training()) stats_.set("near_zero_share", near_zero_share(h, near_zero_eps_));
  return linear_rows(w2, h);
}

double DenseFfnImpl::flops_per_token() const {
  double macs = static_cast<double>(w1->weight.numel() + w2->weight.numel());
  if (w3) macs += static_cast<double>(w3->weight.numel());
  return 2.0 * macs;
}

void register_dense_ffns(FfnRegistry& r) {
  r.add("dense", [](const ModelConfig& cfg, int64_t) {
    return std::make_shared<DenseFfnImpl>(DenseFfnOptions::from(cfg));
  });
}

}  // namespace lmlab::model
