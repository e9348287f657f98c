// [model] config section.
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct ModelConfig {
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t d_model = 256;

  template <class V>
  void visit(V& v) {
    v.field("n_layer", n_layer, "number of transformer blocks");
    v.field("n_head", n_head, "attention heads per block");
    v.field("d_model", d_model, "residual stream width");
  }
};

}  // namespace lmlab
