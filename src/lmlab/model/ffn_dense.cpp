// The dense FFN (see ffn_dense.h) and its registration.
#include "lmlab/model/ffn_dense.h"

#include "lmlab/model/init.h"

namespace lmlab::model {

int64_t default_ffn_hidden(const ModelConfig& cfg) {
  if (cfg.ffn.hidden > 0) return cfg.ffn.hidden;
  if (cfg.arch == "gpt2") return 4 * cfg.d_model;
  int64_t h = (8 * cfg.d_model + 2) / 3;  // ceil(8d/3)
  return (h + 63) / 64 * 64;
}

DenseFfnImpl::DenseFfnImpl(const ModelConfig& cfg, int64_t hidden)
    : swiglu_(cfg.arch == "llama"), near_zero_eps_(cfg.ffn.near_zero_eps) {
  auto linear = [&](int64_t in, int64_t out) { return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(cfg.bias)); };
  w1 = register_module("w1", linear(cfg.d_model, hidden));
  w2 = register_module("w2", linear(hidden, cfg.d_model));
  init_linear(w1, cfg.init_std);
  init_linear(w2, residual_init_std(cfg));
  if (swiglu_) {
    w3 = register_module("w3", linear(cfg.d_model, hidden));
    init_linear(w3, cfg.init_std);
  }
}

torch::Tensor DenseFfnImpl::forward(const torch::Tensor& x, const FfnContext&) {
  torch::Tensor h = swiglu_ ? torch::silu(w1(x)) * w3(x) : torch::gelu(w1(x), "tanh");  // (B, T, hidden)
  stats_.clear();
  if (!is_training()) stats_.set("near_zero_share", near_zero_share(h, near_zero_eps_));
  return w2(h);
}

double DenseFfnImpl::flops_per_token() const {
  double macs = static_cast<double>(w1->weight.numel() + w2->weight.numel());
  if (swiglu_) macs += static_cast<double>(w3->weight.numel());
  return 2.0 * macs;
}

void register_dense_ffns(FfnRegistry& r) {
  r.add("dense", [](const ModelConfig& cfg, int64_t) {
    return std::make_shared<DenseFfnImpl>(cfg, default_ffn_hidden(cfg));
  });
}

}  // namespace lmlab::model
