// Finedeep: M sub-layers x K fine-grained experts with sigmoid routing (see finedeep.h).
#include "lmlab/model/moe/finedeep.h"

#include "lmlab/common/error.h"

namespace lmlab::model::moe {

FinedeepImpl::FinedeepImpl(const FinedeepOptions& o) : opt(o) {
  if (opt.m < 1 || opt.k < 1 || opt.hidden % (opt.m * opt.k) != 0)
    throw UserError("[model.ffn] finedeep_m * finedeep_k = " + std::to_string(opt.m * opt.k) +
                    " must divide the FFN hidden width " + std::to_string(opt.hidden));
  const int64_t width = opt.hidden / (opt.m * opt.k);
  for (int64_t m = 0; m < opt.m; ++m) {
    auto tag = std::to_string(m);
    banks.push_back(register_module("experts" + tag, ExpertBank(opt.k, opt.d_model, width, opt.init)));
    routers.push_back(register_parameter("router" + tag, torch::randn({opt.k, opt.d_model}) * opt.init.weight));
    if (m > 0) norms.push_back(register_parameter("norm" + tag, torch::ones({opt.d_model})));
  }
}

torch::Tensor FinedeepImpl::forward(const torch::Tensor& x, const FfnContext& ctx) {
  // Without the residual stream (a block used on its own) u1 stands in for h.
  return forward_stream(ctx.residual.defined() ? ctx.residual : x, x, ctx);
}

torch::Tensor FinedeepImpl::forward_stream(const torch::Tensor& h, const torch::Tensor& u1, const FfnContext& ctx) {
  auto x = h.reshape({-1, opt.d_model});  // (N, C) residual stream inside the block
  auto delta = torch::zeros_like(x);
  std::vector<torch::Tensor> near_zero, mean_score;  // per sub-layer, 0-d
  for (int64_t m = 0; m < opt.m; ++m) {
    auto u = m == 0 ? u1.reshape({-1, opt.d_model}) : rms_norm(x, norms[m - 1]);
    auto acts = banks[m]->all_hidden(u);                 // (K, N, w)
    auto e = torch::bmm(acts, banks[m]->w_down);         // (K, N, C)
    auto r = opt.output_router ? torch::sigmoid((e * routers[m].unsqueeze(1)).sum(-1))  // (K, N)
                               : torch::sigmoid(torch::linear(u, routers[m])).t();
    if (opt.normalize) r = r / r.sum(0, /*keepdim=*/true);
    auto y = (e * r.unsqueeze(-1)).sum(0);               // (N, C)
    x = x + y;
    delta = delta + y;
    if (!ctx.want_stats) continue;
    near_zero.push_back(near_zero_share(acts, opt.near_zero_eps).to(torch::kDouble));
    mean_score.push_back(r.detach().mean().to(torch::kDouble));
  }
  stats_.clear();
  if (!ctx.want_stats) return delta.view(u1.sizes());
  stats_.set("near_zero_share", torch::stack(near_zero).mean());
  stats_.set("mean_router_score", torch::stack(mean_score));
  stats_.set("tokens", x.size(0));
  return delta.view(u1.sizes());
}

int64_t FinedeepImpl::active_params() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

}  // namespace lmlab::model::moe
