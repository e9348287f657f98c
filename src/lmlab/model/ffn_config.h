// [model.ffn] config section: which feed-forward block every (or every selected) layer uses.
// The MoE family (issue #5) adds its keys here; each key says which types read it.
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct FfnConfig {
  std::string type = "dense";
  int64_t hidden = 0;

  template <class V>
  void visit(V& v) {
    v.field("type", type, "feed-forward block, by registry name (see lmlab/model/ffn.h)");
    v.field("hidden", hidden,
            "hidden width of the dense FFN; 0 = 4*d_model (GPT-2) or the LLaMA 8/3*d_model rounded to 64");
  }
};

}  // namespace lmlab
