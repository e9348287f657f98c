// Top-p routing (formula in topp_moe.h).
#include "lmlab/model/moe/topp_moe.h"

namespace lmlab::model::moe {

Routing TopPMoeImpl::route(const torch::Tensor& u, const FfnContext&) {
  return route_topp(router_probs(u), top_p, eval_top1_disabled());
}

}  // namespace lmlab::model::moe
