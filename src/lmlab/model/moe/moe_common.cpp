// Shared MoE helpers: placement, widths, seeded tables, RMSNorm, the SwiGLU expert bank.
#include "lmlab/model/moe/moe_common.h"

#include "lmlab/model/ffn_dense.h"

#include <random>
#include <vector>

namespace lmlab::model::moe {

int64_t dense_hidden(const ModelConfig& cfg) { return default_ffn_hidden(cfg); }

int64_t expert_hidden(const ModelConfig& cfg) {
  return cfg.ffn.expert_hidden > 0 ? cfg.ffn.expert_hidden : dense_hidden(cfg);
}

bool is_moe_layer(const FfnConfig& ffn, int64_t layer) {
  if (ffn.moe_layers == "every") return layer % std::max<int64_t>(ffn.moe_every, 1) == 0;
  if (ffn.moe_layers == "from") return layer >= ffn.moe_from;
  return true;
}

int64_t n_moe_layers(const ModelConfig& cfg) {
  int64_t n = 0;
  for (int64_t l = 0; l < cfg.n_layer; ++l) n += is_moe_layer(cfg.ffn, l) ? 1 : 0;
  return n;
}

torch::Tensor seeded_expert_order(int64_t rows, int64_t n_experts, int64_t keep, uint64_t seed) {
  // mt19937_64 is fully specified by the standard; the modulo draw (unlike the
  // std distributions) is too, so the table is identical everywhere.
  std::mt19937_64 rng(seed);
  std::vector<int64_t> perm(n_experts);
  auto out = torch::empty({rows, keep}, torch::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t e = 0; e < n_experts; ++e) perm[e] = e;
    for (int64_t i = 0; i < keep; ++i) {  // partial Fisher-Yates: the first `keep` slots
      int64_t j = i + static_cast<int64_t>(rng() % static_cast<uint64_t>(n_experts - i));
      std::swap(perm[i], perm[j]);
      p[r * keep + i] = perm[i];
    }
  }
  return out;
}

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

ExpertBankImpl::ExpertBankImpl(int64_t n_experts_, int64_t d_model_, int64_t hidden_, InitStds init)
    : n_experts(n_experts_), d_model(d_model_), hidden(hidden_) {
  w_gate = register_parameter("w_gate", torch::randn({n_experts, d_model, hidden}) * init.weight);
  w_up = register_parameter("w_up", torch::randn({n_experts, d_model, hidden}) * init.weight);
  w_down = register_parameter("w_down", torch::randn({n_experts, hidden, d_model}) * init.residual);
}

ExpertSlices ExpertBankImpl::slices() const { return {w_gate.unbind(0), w_up.unbind(0), w_down.unbind(0)}; }

torch::Tensor ExpertBankImpl::expert(const ExpertSlices& w, int64_t e, const torch::Tensor& x) {
  auto h = torch::silu(x.matmul(w.gate[e])) * x.matmul(w.up[e]);  // (n, H)
  return h.matmul(w.down[e]);
}

torch::Tensor ExpertBankImpl::expert(int64_t e, const torch::Tensor& x) const {
  auto h = torch::silu(x.matmul(w_gate[e])) * x.matmul(w_up[e]);  // (n, H)
  return h.matmul(w_down[e]);
}

torch::Tensor ExpertBankImpl::all_hidden(const torch::Tensor& x) const {
  auto xe = x.unsqueeze(0).expand({n_experts, x.size(0), d_model});  // (E, N, C)
  return torch::silu(torch::bmm(xe, w_gate)) * torch::bmm(xe, w_up);
}

torch::Tensor ExpertBankImpl::all(const torch::Tensor& x) const {
  return torch::bmm(all_hidden(x), w_down);  // (E, N, C)
}

}  // namespace lmlab::model::moe
