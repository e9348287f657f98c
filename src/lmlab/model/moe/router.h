// Routing decisions shared by the routed MoE variants, all on router probabilities
// p = softmax(W_r u) (computed in fp32):
//   top-k   (Switch k=1, GShard k=2): I = TopK(p, k), w_i = p_i, renormalised w_i / sum_I w when asked;
//   top-p   (Huang et al. 2024): sort p descending, keep the shortest prefix whose mass exceeds p_thr
//           (the crossing expert is kept), w_i = p_i, not renormalised;
//   balance loss (Switch): L_aux = N * sum_i f_i * P_i, f_i = share of routed (token, slot)
//           assignments sent to expert i, P_i = mean router probability of expert i;
//   capacity: expert capacity c; overflow assignments are dropped, first slots first, then tokens in order.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/deferred_stats.h"

namespace lmlab::model::moe {

struct Routing {
  torch::Tensor experts;  // (N, k) int64 expert per slot; -1 = unused slot
  torch::Tensor weights;  // (N, k) combine weight per slot; 0 on unused slots
  torch::Tensor probs;    // (N, E) router probabilities; undefined without a learned router
};

// disable_top1: each token's most probable expert is excluded before choosing (eval robustness
// test). Slots whose probability is 0 (masked experts) are marked unused.
Routing route_topk(const torch::Tensor& probs, int64_t k, bool renormalize, bool disable_top1);
Routing route_topp(const torch::Tensor& probs, double p, bool disable_top1);

// N * sum_i f_i * P_i (unweighted); needs r.probs.
torch::Tensor balance_loss(const Routing& r, int64_t n_experts);

// ceil(factor * tokens * k / n_experts).
int64_t expert_capacity(double factor, int64_t tokens, int64_t k, int64_t n_experts);
// Drops assignments beyond `capacity` per expert in place; returns how many were dropped (0-d).
torch::Tensor apply_capacity(Routing& r, int64_t n_experts, int64_t capacity);

// Into `out`: "load" [share of assignments per expert], "entropy" mean router entropy (nats),
// "experts_per_token" mean routed experts per token, "tokens" N.
void record_routing_stats(const Routing& r, int64_t n_experts, DeferredStats& out);

}  // namespace lmlab::model::moe
