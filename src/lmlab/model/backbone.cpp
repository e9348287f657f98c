// make_backbone and what the transformer backbones share (see backbone.h).
#include "lmlab/model/backbone.h"

#include "lmlab/common/error.h"
#include "lmlab/model/cnn.h"
#include "lmlab/model/encoder.h"
#include "lmlab/model/vit.h"

namespace lmlab::model {

int64_t BackboneImpl::total_params() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::shared_ptr<BackboneImpl> make_backbone(const ModelConfig& cfg) {
  if (cfg.family == "encoder") return std::make_shared<EncoderImpl>(cfg);
  if (cfg.family == "vit") return std::make_shared<VitImpl>(cfg);
  if (cfg.family == "cnn") return std::make_shared<CnnImpl>(cfg);
  if (cfg.family == "decoder")
    throw UserError("[model] family \"decoder\" has no pooled features: build it with model::Transformer");
  throw UserError("[model] family must be decoder, encoder, vit or cnn, not \"" + cfg.family + "\"");
}

BlockOptions bidirectional_block_options(const ModelConfig& cfg, bool post_norm) {
  BlockOptions o;
  o.attention = cfg.attention.type;
  o.attn.d_model = cfg.d_model;
  o.attn.n_head = cfg.n_head;
  o.attn.n_kv_head = cfg.n_kv_head;
  o.attn.bias = true;
  o.attn.dropout = cfg.dropout;
  o.attn.causal = false;
  o.norm = NormOptions::layer_norm(cfg.d_model, cfg.norm_eps);
  o.dropout = cfg.dropout;
  o.post_norm = post_norm;
  o.init_std = cfg.init_std;
  o.out_init_std = cfg.init_std;
  return o;
}

DenseFfnOptions gelu_ffn_options(const ModelConfig& cfg) {
  DenseFfnOptions o;
  o.d_model = cfg.d_model;
  o.hidden = cfg.ffn.hidden > 0 ? cfg.ffn.hidden : 4 * cfg.d_model;
  o.activation = Activation::Gelu;
  o.bias = true;
  o.init_std = cfg.init_std;
  o.out_init_std = cfg.init_std;
  o.near_zero_eps = cfg.ffn.near_zero_eps;
  return o;
}

void validate_transformer_shape(const ModelConfig& c) {
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.n_layer <= 0 || c.n_head <= 0 || c.d_model <= 0) fail("n_layer, n_head and d_model must be > 0");
  if (c.d_model % c.n_head != 0)
    fail("d_model (" + std::to_string(c.d_model) + ") must be divisible by n_head (" + std::to_string(c.n_head) + ")");
  if (c.n_kv_head < 0 || c.n_head % c.kv_heads() != 0)
    fail("n_head (" + std::to_string(c.n_head) + ") must be a multiple of n_kv_head (" + std::to_string(c.n_kv_head) + ")");
  if (c.dropout < 0 || c.dropout >= 1) fail("dropout must be in [0, 1)");
}

}  // namespace lmlab::model
