// Vision transformer (Dosovitskiy et al. 2021), [model] family = "vit":
//   patches = Conv2d(channels -> C, kernel = stride = P)(images), flattened    (B, N, C), N = (S/P)^2
//   x       = [cls; patches] + pos_emb                                          (B, 1+N, C)
//   x       = Block(x) per layer, pre-norm:  h = x + Attn(LN(x)),  x = h + FFN(LN(h))
//             (bidirectional attention, FFN = w2 gelu(w1 x))
//   tokens  = LN(x)            (B, 1+N, C);   pooled = tokens[:, 0]             (B, C)
// Options in [model.vit] (docs/pyra.md): ToMe token merging between attention and FFN
// (tome.h; tokens() then returns the N_L merged tokens), LoRA on qkv (lora.h) and PYRA (pyra.h).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lmlab/model/backbone.h"
#include "lmlab/model/pyra.h"

namespace lmlab::model {

class VitImpl : public BackboneImpl {
 public:
  explicit VitImpl(const ModelConfig& cfg);

  // images (B, channels, S, S) -> every token after the final LayerNorm (B, 1+N, C); row 0 is CLS.
  torch::Tensor tokens(const torch::Tensor& images);
  torch::Tensor pooled(const BackboneInput& in) override { return tokens(in.images).select(1, 0); }
  int64_t feature_dim() const override { return cfg_.d_model; }
  // 3 x forward FLOPs per image: patch embedding 2 N (channels P^2) C, plus per block
  // (1+N) x (attention at 1+N keys + FFN).
  double train_flops_per_sample() const override;
  int64_t n_patches() const { return n_patches_; }
  const ModelConfig& config() const { return cfg_; }
  // Merges per layer after the cap, and the token count entering each layer (+ the final one).
  const std::vector<int64_t>& tome_schedule() const { return tome_r_; }
  std::vector<int64_t> token_counts() const;
  // Folds every layer's LoRA update into its qkv weights (inference); no-op without LoRA.
  void merge_lora();
  // Parameters of the PYRA modules: W_r + W_D only (the paper's count), or with the LayerNorms.
  int64_t pyra_params(bool with_norm) const;

  torch::nn::Conv2d patch_emb{nullptr};
  torch::Tensor cls_token;  // (1, 1, C)
  torch::Tensor pos_emb;    // (1, 1+N, C)
  std::vector<Block> blocks;
  Norm norm{nullptr};
  std::vector<Pyra> pyra;  // per layer; null where the layer merges nothing or PYRA is off

 private:
  void add_lora();
  void add_tome();

  ModelConfig cfg_;
  int64_t n_patches_;
  std::vector<int64_t> tome_r_;
};
TORCH_MODULE(Vit);

}  // namespace lmlab::model
