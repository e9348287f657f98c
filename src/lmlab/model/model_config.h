// [model] config section.
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/model/ffn_config.h"

namespace lmlab {

struct ModelConfig {
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t d_model = 256;
  int64_t vocab_size = 0;
  FfnConfig ffn;

  template <class V>
  void visit(V& v) {
    v.field("n_layer", n_layer, "number of transformer blocks");
    v.field("n_head", n_head, "attention heads per block");
    v.field("d_model", d_model, "residual stream width");
    v.field("vocab_size", vocab_size, "vocabulary size; 0 = taken from the tokenizer of the data");
    v.section("ffn", ffn);
  }
};

}  // namespace lmlab
