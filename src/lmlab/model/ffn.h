// The feed-forward block interface and its registry. Every FFN variant (dense, the MoE
// baselines, MaskMoE, CartesianMoE, DSMoE, Finedeep) is an FfnBlock built by name from
// [model.ffn] type = "...", so one config line switches a run between them.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/model/model_config.h"

namespace lmlab::model {

// What a block may need besides the hidden states.
struct FfnContext {
  torch::Tensor token_ids;  // (B, T) int64: the input tokens (hash routing, MaskMoE)
  int64_t layer = 0;        // index of the transformer block this FFN sits in
  // (B, T, C) the residual stream h whose normalisation is the block's input x. Blocks with an
  // inner residual (CartesianMoE, Finedeep) need it; undefined when a caller has none.
  torch::Tensor residual = {};
  // false: skip the statistics stats() would report (the generator's steps: nobody reads them,
  // and for one token they cost more than the FFN's matmuls). Routing itself is unchanged.
  bool want_stats = true;
};

class FfnBlockImpl : public torch::nn::Module {
 public:
  // x: (B, T, C) -> (B, T, C)
  virtual torch::Tensor forward(const torch::Tensor& x, const FfnContext& ctx) = 0;
  // Auxiliary loss of the last forward (load balancing, sparsity), already weighted by its
  // coefficient; an undefined tensor when the block has none.
  virtual torch::Tensor aux_loss() const { return {}; }
  // Routing statistics of the last forward for metrics.jsonl (expert load, entropy, ...).
  virtual nlohmann::json stats() const { return nlohmann::json::object(); }
  // Parameters touched per token (== all parameters for a dense block).
  virtual int64_t active_params() const;
  // Multiply-accumulate FLOPs per token of the forward pass (2 * MACs).
  virtual double flops_per_token() const = 0;
};

// Share of entries with |a| < eps as a 0-d double tensor on the activations' device (no host
// sync): the near-zero FFN activation rate Finedeep is motivated by, reported at eval by the
// dense FFN and by Finedeep as stats()["near_zero_share"].
torch::Tensor near_zero_share(const torch::Tensor& activations, double eps);

using FfnFactory = std::function<std::shared_ptr<FfnBlockImpl>(const ModelConfig&, int64_t layer)>;

// Name -> factory. Built once from explicit registration calls (not static initialisers,
// which a static library would silently drop).
class FfnRegistry {
 public:
  static FfnRegistry& instance();
  void add(const std::string& name, FfnFactory factory);
  // UserError naming the closest registered type when `name` is unknown.
  std::shared_ptr<FfnBlockImpl> make(const std::string& name, const ModelConfig& cfg, int64_t layer) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, FfnFactory> factories_;
};

// Registration hooks, one per family; FfnRegistry::instance() calls each once.
void register_dense_ffns(FfnRegistry& r);  // model/ffn_dense.cpp
void register_moe_ffns(FfnRegistry& r);    // model/moe/registry.cpp (issue #5)

}  // namespace lmlab::model
