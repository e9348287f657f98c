// [train.loss] config section: the training objective (issue #6 implements the non-CE losses).
#pragma once
#include <string>

namespace lmlab {

struct LossConfig {
  std::string type = "ce";
  double gamma = 1.0;

  template <class V>
  void visit(V& v) {
    v.field("type", type,
            "training objective: cross-entropy, MiLe (entropy-weighted CE) or focal", {"ce", "mile", "focal"});
    v.field("gamma", gamma, "exponent of the MiLe weight (1 + H)^gamma or the focal weight (1 - p)^gamma");
  }
};

}  // namespace lmlab
