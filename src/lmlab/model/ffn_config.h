// [model.ffn] config section: which feed-forward block every (or every selected) layer uses.
// The MoE family (issue #5, src/lmlab/model/moe/, docs/moe.md) adds its keys here; each key's
// help says which types read it. The types are FfnRegistry's names (ffn_type_names()).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/config/config.h"

namespace lmlab {

std::vector<std::string> ffn_type_names();  // model/ffn.cpp: FfnRegistry::instance().names()

struct FfnConfig {
  std::string type = "dense";
  int64_t hidden = 0;

  // Routed experts (moe, hash_moe, topp_moe, mask_moe, cartesian_moe).
  int64_t n_experts = 8;
  int64_t top_k = 2;
  int64_t expert_hidden = 0;
  bool renormalize = true;
  int64_t n_shared = 0;
  int64_t shared_hidden = 0;
  std::string shared_mix = "sum";
  double capacity_factor = 0.0;
  bool capacity_renormalize = false;
  bool capacity_at_eval = false;
  double balance_coef = 0.01;
  double top_p = 0.4;
  bool disable_top1 = false;
  std::string disable_top1_layers = "each";
  int64_t seed = 1234;
  // Placement of the MoE layers (every type except dense).
  std::string moe_layers = "all";
  int64_t moe_every = 2;
  int64_t moe_from = 1;
  // MaskMoE.
  int64_t mask_visible = 4;
  double mask_frequent_share = 0.2;
  bool mask_per_layer = true;
  // DSMoE.
  int64_t dsmoe_n = 8;
  double dsmoe_tau = 0.5;
  double dsmoe_sparsity_coef = 1.0;
  bool dsmoe_ste = true;
  std::string dsmoe_router = "sigmoid";
  double dsmoe_topk_scale = 0.0;
  // Finedeep.
  int64_t finedeep_m = 2;
  int64_t finedeep_k = 4;
  std::string finedeep_router = "output";
  bool finedeep_normalize = false;
  double near_zero_eps = 0.01;

  template <class V>
  void visit(V& v) {
    v.field("type", type, "feed-forward block of the decoder, by registry name (see lmlab/model/ffn.h, docs/moe.md)",
            ffn_type_names());
    v.field("hidden", hidden,
            "hidden width of the dense FFN; 0 = 4*d_model (GPT-2, encoder, ViT) or the LLaMA 8/3*d_model rounded "
            "to 64. dsmoe/finedeep: width of the dense FFN they partition", config::at_least(0));
    v.field("n_experts", n_experts, "routed experts per MoE layer (per sub-layer for cartesian_moe) "
                                    "[moe, hash_moe, topp_moe, mask_moe, cartesian_moe]", config::at_least(1));
    v.field("top_k", top_k, "experts per token (Switch 1, GShard 2; per sub-layer for cartesian_moe); "
                            "topp_moe: nominal count used for active_params [moe, hash_moe, topp_moe, "
                            "mask_moe, cartesian_moe; dsmoe with dsmoe_router = topk]", config::at_least(1));
    v.field("expert_hidden", expert_hidden, "hidden width of one routed expert; 0 = `hidden` (fine-grained "
                                            "experts: hidden/m) [moe, hash_moe, topp_moe, mask_moe, cartesian_moe]", config::at_least(0));
    v.field("renormalize", renormalize, "renormalise the k selected softmax weights to sum 1 when top_k > 1 "
                                        "(GShard); false = raw probabilities (Switch, DeepSeekMoE) [moe, mask_moe]");
    v.field("n_shared", n_shared, "always-active shared experts (DeepSeekMoE / residual-MoE) "
                                  "[moe, hash_moe, topp_moe, mask_moe, cartesian_moe]", config::at_least(0));
    v.field("shared_hidden", shared_hidden, "hidden width of one shared expert; 0 = expert_hidden", config::at_least(0));
    v.field("shared_mix", shared_mix,
            "how shared experts join the routed output: sum (DeepSeekMoE) or a learned per-token 2-way "
            "softmax coefficient (DeepSpeed residual-MoE, CartesianMoE paper)",
            {"sum", "coefficient"});
    v.field("capacity_factor", capacity_factor,
            "expert capacity = ceil(factor * tokens * top_k / n_experts), overflow dropped; 0 = dropless", config::at_least(0));
    v.field("capacity_renormalize", capacity_renormalize,
            "after capacity drops, divide each token's kept combine weights by their sum (DeepSpeed top-2 gating); "
            "false = dropped weight is lost [moe, hash_moe, topp_moe, mask_moe, cartesian_moe]");
    v.field("capacity_at_eval", capacity_at_eval,
            "apply capacity_factor in eval mode too; false = dropless at eval, as DeepSpeed without an eval "
            "capacity [moe, hash_moe, topp_moe, mask_moe, cartesian_moe]");
    v.field("balance_coef", balance_coef,
            "weight of the load-balancing loss N * sum_i f_i * P_i (0 = off) [moe, topp_moe, mask_moe, cartesian_moe; "
            "dsmoe with dsmoe_router = topk]", config::at_least(0));
    v.field("top_p", top_p, "threshold of top-p routing: smallest prefix of sorted probabilities whose "
                            "mass exceeds p; weights not renormalised [topp_moe]", config::between(0, 1));
    v.field("disable_top1", disable_top1,
            "at eval only: drop each token's top-1 expert and route to the next ones (CartesianMoE "
            "robustness test) [moe, topp_moe, mask_moe, cartesian_moe]");
    v.field("disable_top1_layers", disable_top1_layers,
            "which cartesian_moe sub-layers disable_top1 applies to: each (both, 2 of the 4 sub-experts a token "
            "uses: the paper's test) or first (the first sub-layer only) [cartesian_moe]",
            {"each", "first"});
    v.field("seed", seed, "seed of the fixed routing tables (hash_moe table, mask_moe mask)");
    v.field("moe_layers", moe_layers,
            "which layers are MoE: all, every (layer % moe_every == 0), from (layer >= moe_from); "
            "the others use the dense FFN",
            {"all", "every", "from"});
    v.field("moe_every", moe_every, "interval of moe_layers = every (GShard formation)", config::at_least(1));
    v.field("moe_from", moe_from, "first MoE layer of moe_layers = from (DeepSeek formation)", config::at_least(0));
    v.field("mask_visible", mask_visible, "V: experts a frequent token may be routed to [mask_moe]", config::at_least(1));
    v.field("mask_frequent_share", mask_frequent_share,
            "share of the vocabulary (most frequent ids first) counted as frequent; the rest see one expert "
            "[mask_moe]", config::between(0, 1));
    v.field("mask_per_layer", mask_per_layer, "draw a different mask per layer (false: one mask for all) [mask_moe]");
    v.field("dsmoe_n", dsmoe_n, "n: contiguous blocks the dense FFN is split into [dsmoe]", config::at_least(1));
    v.field("dsmoe_tau", dsmoe_tau, "gate threshold tau: an expert is active when sigmoid(gate) > tau [dsmoe]", config::between(0, 1));
    v.field("dsmoe_sparsity_coef", dsmoe_sparsity_coef, "weight of the sparsity loss (paper: 1) [dsmoe]", config::at_least(0));
    v.field("dsmoe_ste", dsmoe_ste,
            "train through the straight-through estimator S(g); false = G(g) itself (the paper's ablation) [dsmoe]");
    v.field("dsmoe_router", dsmoe_router,
            "sigmoid = DSMoE's thresholded gates; topk = the LLaMA-MoE baseline: softmax top_k of the same n "
            "blocks, renormalised, balance_coef [dsmoe]",
            {"sigmoid", "topk"});
    v.field("dsmoe_topk_scale", dsmoe_topk_scale,
            "dsmoe_router = topk: the combine weights' scale s (0 = dsmoe_n, as DSMoE's n / #active) [dsmoe]",
            config::at_least(0));
    v.field("finedeep_m", finedeep_m, "M: sequential expert sub-layers [finedeep]", config::at_least(1));
    v.field("finedeep_k", finedeep_k, "K: experts per sub-layer, each of width hidden/(M*K) [finedeep]", config::at_least(1));
    v.field("finedeep_router", finedeep_router,
            "routing score: output = sigmoid(<r_k, expert output>) (output-guided), input = sigmoid(W_r u) "
            "[finedeep]",
            {"output", "input"});
    v.field("finedeep_normalize", finedeep_normalize, "divide the K sigmoid scores by their sum [finedeep]");
    v.field("near_zero_eps", near_zero_eps,
            "|activation| below this counts as near zero in the stats' near_zero_share [finedeep; dense at eval]", config::at_least(0));
  }
};

}  // namespace lmlab
