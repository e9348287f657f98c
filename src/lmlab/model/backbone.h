// What a classification or retrieval task needs from a model, whatever its family: a pooled
// feature vector per sample, its width, and the counts for logging and MFU. The encoder
// (encoder.h), the ViT (vit.h) and the CNN (cnn.h) implement it; make_backbone picks one by
// [model] family. The decoder stays model::Transformer (transformer.h).
#pragma once
#include <torch/torch.h>

#include <memory>

#include "lmlab/model/block.h"
#include "lmlab/model/ffn_dense.h"
#include "lmlab/model/model_config.h"

namespace lmlab::model {

struct BackboneInput {
  torch::Tensor ids = {};       // (B, T) int64 token ids [encoder]
  torch::Tensor segments = {};  // (B, T) int64 segment ids, undefined = all 0 [encoder]
  torch::Tensor pad_mask = {};  // (B, T) bool, true = real token, undefined = no padding [encoder]
  torch::Tensor images = {};    // (B, C, H, W) float [vit, cnn]
};

class BackboneImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor pooled(const BackboneInput& in) = 0;  // (B, feature_dim())
  virtual int64_t feature_dim() const = 0;
  virtual int64_t total_params() const;  // every parameter once
  // Forward + backward (3 x forward) FLOPs of pooled() for one sample at the configured size
  // (encoder: max_seq_len tokens; vit, cnn: image.size pixels square).
  virtual double train_flops_per_sample() const = 0;
};

// The backbone of [model] family: encoder, vit or cnn. UserError("[model] ...") for "decoder"
// (use Transformer) and for inconsistent keys.
std::shared_ptr<BackboneImpl> make_backbone(const ModelConfig& cfg);

// What the encoder and the ViT share. Their blocks: bidirectional attention and LayerNorm,
// both with biases (as BERT and ViT), dropout from [model] dropout, every weight
// ~ N(0, init_std^2) (no residual scaling); post_norm for BERT, pre-norm for ViT.
BlockOptions bidirectional_block_options(const ModelConfig& cfg, bool post_norm);
// Their FFN: the dense block with exact GELU and biases, [model.ffn] hidden or 4 * d_model wide.
DenseFfnOptions gelu_ffn_options(const ModelConfig& cfg);
// UserError("[model] ...") unless n_layer, n_head, d_model are > 0, d_model % n_head == 0,
// n_head % n_kv_head == 0 and dropout is in [0, 1).
void validate_transformer_shape(const ModelConfig& cfg);

}  // namespace lmlab::model
