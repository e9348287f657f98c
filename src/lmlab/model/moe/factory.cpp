// [model.ffn] -> MoE block, with the checks that name the offending key.
#include "lmlab/model/moe/factory.h"

#include "lmlab/common/error.h"
#include "lmlab/model/moe/cartesian_moe.h"
#include "lmlab/model/moe/dsmoe.h"
#include "lmlab/model/moe/finedeep.h"
#include "lmlab/model/moe/hash_moe.h"
#include "lmlab/model/moe/mask_moe.h"
#include "lmlab/model/moe/topp_moe.h"

namespace lmlab::model::moe {

const std::vector<std::string>& moe_types() {
  static const std::vector<std::string> types = {"moe",           "hash_moe", "topp_moe", "mask_moe",
                                                 "cartesian_moe", "dsmoe",    "finedeep"};
  return types;
}

namespace {
void check(bool ok, const std::string& problem) {
  if (!ok) throw UserError("[model.ffn]: " + problem);
}

RoutedMoeOptions routed_options(const ModelConfig& cfg) {
  const FfnConfig& f = cfg.ffn;
  check(f.n_experts >= 1, "n_experts must be >= 1");
  check(f.top_k >= 1 && f.top_k <= f.n_experts, "top_k must be in 1..n_experts");
  check(f.n_shared >= 0, "n_shared must be >= 0");
  check(f.capacity_factor >= 0, "capacity_factor must be >= 0 (0 = dropless)");
  return RoutedMoeOptions::from(cfg);
}
}  // namespace

std::shared_ptr<FfnBlockImpl> make_moe_block(const std::string& type, const ModelConfig& cfg, int64_t layer) {
  const FfnConfig& f = cfg.ffn;
  if (!is_moe_layer(f, layer)) return nullptr;
  const auto seed = static_cast<uint64_t>(f.seed);
  if (type == "moe") return std::make_shared<RoutedMoeImpl>(routed_options(cfg));
  if (type == "hash_moe")
    return std::make_shared<HashMoeImpl>(routed_options(cfg), cfg.vocab_size, seed + 7919u * static_cast<uint64_t>(layer));
  if (type == "topp_moe") {
    check(f.top_p > 0 && f.top_p <= 1, "top_p must be in (0, 1]");
    return std::make_shared<TopPMoeImpl>(routed_options(cfg), f.top_p);
  }
  if (type == "mask_moe") {
    check(f.mask_frequent_share >= 0 && f.mask_frequent_share <= 1, "mask_frequent_share must be in [0, 1]");
    auto mask_seed = f.mask_per_layer ? seed + 7919u * static_cast<uint64_t>(layer) : seed;
    return std::make_shared<MaskMoeImpl>(routed_options(cfg), cfg.vocab_size, f.mask_visible, f.mask_frequent_share,
                                         mask_seed);
  }
  if (type == "cartesian_moe")
    return std::make_shared<CartesianMoeImpl>(routed_options(cfg), f.disable_top1_layers == "each");
  if (type == "dsmoe") {
    check(f.dsmoe_tau > 0 && f.dsmoe_tau < 1, "dsmoe_tau must be in (0, 1)");
    DsMoeOptions o;
    o.d_model = cfg.d_model;
    o.hidden = dense_hidden(cfg);
    o.n = f.dsmoe_n;
    o.n_moe_layers = n_moe_layers(cfg);
    o.tau = f.dsmoe_tau;
    o.sparsity_coef = f.dsmoe_sparsity_coef;
    o.ste = f.dsmoe_ste;
    o.topk_router = f.dsmoe_router == "topk";
    o.top_k = f.top_k;
    o.topk_scale = f.dsmoe_topk_scale;
    o.balance_coef = f.balance_coef;
    if (o.topk_router) check(f.top_k <= f.dsmoe_n, "top_k must be in 1..dsmoe_n with dsmoe_router = topk");
    o.init = init_stds(cfg);
    return std::make_shared<DsMoeImpl>(o);
  }
  if (type == "finedeep") {
    FinedeepOptions o;
    o.d_model = cfg.d_model;
    o.hidden = dense_hidden(cfg);
    o.m = f.finedeep_m;
    o.k = f.finedeep_k;
    o.output_router = f.finedeep_router == "output";
    o.normalize = f.finedeep_normalize;
    o.near_zero_eps = f.near_zero_eps;
    o.init = init_stds(cfg);
    return std::make_shared<FinedeepImpl>(o);
  }
  throw UserError("[model.ffn]: '" + type + "' is not an MoE type" + did_you_mean(type, moe_types()));
}

}  // namespace lmlab::model::moe
