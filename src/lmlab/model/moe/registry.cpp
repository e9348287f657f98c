// Registers the MoE family's FFN blocks (issue #5, docs/moe.md). Layers that the placement
// keys ([model.ffn] moe_layers, moe_every, moe_from) leave dense get the registry's "dense".
#include "lmlab/model/ffn.h"
#include "lmlab/model/moe/factory.h"

namespace lmlab::model {

void register_moe_ffns(FfnRegistry& r) {
  for (const auto& type : moe::moe_types())
    r.add(type, [type](const ModelConfig& cfg, int64_t layer) -> std::shared_ptr<FfnBlockImpl> {
      if (auto block = moe::make_moe_block(type, cfg, layer)) return block;
      return FfnRegistry::instance().make("dense", cfg, layer);
    });
}

}  // namespace lmlab::model
