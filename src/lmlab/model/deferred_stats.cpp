// DeferredStats: tensors are detached when stored and read on the host only in json().
#include "lmlab/model/deferred_stats.h"

namespace lmlab::model {

void DeferredStats::clear() {
  host_.clear();  // stays an empty object, without a new allocation at every forward
  tensors_.clear();
}

void DeferredStats::set(const std::string& key, nlohmann::json value) { host_[key] = std::move(value); }

void DeferredStats::set(const std::string& key, const torch::Tensor& value) {
  TORCH_CHECK(value.dim() <= 1, "DeferredStats: '", key, "' must be 0-d or 1-d");
  tensors_.emplace_back(key, value.detach());
}

nlohmann::json DeferredStats::json() const {
  nlohmann::json j = host_;
  for (const auto& [key, t] : tensors_) {
    auto v = t.cpu();
    if (v.dim() == 0) {
      j[key] = c10::isIntegralType(v.scalar_type(), /*includeBool=*/true) ? nlohmann::json(v.item<int64_t>())
                                                                          : nlohmann::json(v.item<double>());
    } else {
      v = v.to(torch::kDouble).contiguous();
      j[key] = std::vector<double>(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    }
  }
  return j;
}

}  // namespace lmlab::model
