// [train.loss] config section: the training objective (issue #6 implements the non-CE losses).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab {

// The loss types lm_loss dispatches on (losses.cpp): the config's choices and the unknown-type
// error both read this one list, so a new loss is named in one place.
inline const std::vector<std::string>& loss_type_names() {
  static const std::vector<std::string> names = {"ce", "mile", "focal"};
  return names;
}

struct LossConfig {
  std::string type = "ce";
  double gamma = 1.0;
  int64_t entropy_chunk = 1024;

  template <class V>
  void visit(V& v) {
    v.field("type", type,
            "training objective: cross-entropy, MiLe (entropy-weighted CE) or focal", loss_type_names());
    v.field("gamma", gamma, "exponent of the MiLe weight (1 + H)^gamma or the focal weight (1 - p)^gamma");
    v.field("entropy_chunk", entropy_chunk,
            "rows of logits per chunk when MiLe computes the entropy weights (bounds the extra "
            "memory to chunk x vocab floats; 0 = all rows at once)");
  }
};

}  // namespace lmlab
