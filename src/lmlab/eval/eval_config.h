// [eval] config section.
#pragma once
#include <cstdint>

namespace lmlab {

struct EvalConfig {
  int64_t every = 100;

  template <class V>
  void visit(V& v) {
    v.field("every", every, "evaluate on the validation split every N steps (0 = never)");
  }
};

}  // namespace lmlab
