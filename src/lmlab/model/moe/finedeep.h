// Finedeep (Pan, Su et al. 2025, arXiv 2502.12928), [model.ffn] type = "finedeep": the dense
// FFN of width D is cut into M*K fine-grained SwiGLU experts of width D/(M*K), arranged as M
// sequential sub-layers of K experts; every expert runs (dense), sigmoid routing weighs them,
// and each sub-layer has its own residual and RMSNorm:
//   x_0 = h;  u_1 = RMSNorm_post_attn(h) (given);  u_m = RMSNorm_m(x_{m-1}) for m > 1
//   e_{m,k} = FFN_{m,k}(u_m)
//   r_{m,k} = sigmoid(<w_{m,k}, e_{m,k}>)   (finedeep_router = output: "output-guided", default)
//          or sigmoid(W_m u_m)_k             (finedeep_router = input)
//   r_{m,k} <- r_{m,k} / sum_j r_{m,j}       (only with finedeep_normalize; default off)
//   x_m = x_{m-1} + sum_k r_{m,k} e_{m,k};   block output = x_M - h
// Parameters and FLOPs equal the dense FFN's plus M*K*C router weights and (M-1)*C norm weights.
// The exact router, the normalisation and the norm placement are not public (notes §4): they
// are the options above. Like CartesianMoE, forward() takes h from ctx.residual.
// stats()["near_zero_share"]: share of expert activations silu(u W1) * (u W3) with |a| < eps,
// the paper's motivation metric; the dense FFN reports the same in eval mode (ffn_dense.h).
#pragma once
#include "lmlab/model/deferred_stats.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/moe/moe_common.h"

namespace lmlab::model::moe {

struct FinedeepOptions {
  int64_t d_model = 0, hidden = 0, m = 2, k = 4;
  bool output_router = true, normalize = false;
  double near_zero_eps = 0.01;
  InitStds init;  // experts by the rule of init.h; routers N(0, init.weight^2)
};

class FinedeepImpl : public FfnBlockImpl {
 public:
  explicit FinedeepImpl(const FinedeepOptions& opt);

  torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) override;
  torch::Tensor forward_stream(const torch::Tensor& h, const torch::Tensor& u1, const FfnContext& ctx);
  nlohmann::json stats() const override { return stats_.json(); }
  int64_t active_params() const override;
  double flops_per_token() const override { return 2.0 * static_cast<double>(active_params()); }

  FinedeepOptions opt;
  std::vector<ExpertBank> banks;          // M banks of K experts (C -> D/(M K) -> C)
  std::vector<torch::Tensor> routers;     // M x (K, C)
  std::vector<torch::Tensor> norms;       // M-1 x (C)

 private:
  DeferredStats stats_;
};

}  // namespace lmlab::model::moe
