// The FFN registry (see ffn.h): one name -> factory map, filled once by explicit calls.
#include "lmlab/model/ffn.h"

#include <stdexcept>

#include "lmlab/common/error.h"

namespace lmlab::model {

int64_t FfnBlockImpl::active_params() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

FfnRegistry& FfnRegistry::instance() {
  static FfnRegistry registry = [] {
    FfnRegistry r;
    register_dense_ffns(r);
    register_moe_ffns(r);
    return r;
  }();
  return registry;
}

void FfnRegistry::add(const std::string& name, FfnFactory factory) {
  if (!factories_.emplace(name, std::move(factory)).second)
    throw std::logic_error("FFN type '" + name + "' registered twice");
}

std::shared_ptr<FfnBlockImpl> FfnRegistry::make(const std::string& name, const ModelConfig& cfg,
                                                 int64_t layer) const {
  auto it = factories_.find(name);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    throw UserError("model.ffn.type: unknown FFN type '" + name + "'" + did_you_mean(name, names()) +
                    "; known types: " + known);
  }
  return it->second(cfg, layer);
}

std::vector<std::string> FfnRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

torch::Tensor near_zero_share(const torch::Tensor& activations, double eps) {
  return activations.detach().abs().lt(eps).to(torch::kDouble).mean();
}

}  // namespace lmlab::model

std::vector<std::string> lmlab::ffn_type_names() { return model::FfnRegistry::instance().names(); }
