// [train.loss] config section: the training objective (issue #6 implements the non-CE losses).
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct LossConfig {
  std::string type = "ce";
  double gamma = 1.0;
  int64_t entropy_chunk = 1024;

  template <class V>
  void visit(V& v) {
    v.field("type", type,
            "training objective: cross-entropy, MiLe (entropy-weighted CE) or focal", {"ce", "mile", "focal"});
    v.field("gamma", gamma, "exponent of the MiLe weight (1 + H)^gamma or the focal weight (1 - p)^gamma");
    v.field("entropy_chunk", entropy_chunk,
            "rows of logits per chunk when MiLe computes the entropy weights (bounds the extra "
            "memory to chunk x vocab floats; 0 = all rows at once)");
  }
};

}  // namespace lmlab
