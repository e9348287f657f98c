// Statistics of an FFN block's last forward, kept as tensors until stats() asks for them.
// Reading a value off a GPU tensor waits for every queued kernel, and the trainer reads FFN
// statistics only at log steps: a forward that converted them itself would stall the device
// several times per layer per step for numbers nobody reads.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmlab::model {

class DeferredStats {
 public:
  void clear();
  // A value known on the host.
  void set(const std::string& key, nlohmann::json value);
  // A 0-d tensor becomes a number (integral dtypes stay integers), a 1-d tensor an array of doubles.
  void set(const std::string& key, const torch::Tensor& value);
  // Everything set since clear(), with the tensors read now.
  nlohmann::json json() const;

 private:
  nlohmann::json host_ = nlohmann::json::object();
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
};

}  // namespace lmlab::model
