// A small ResNet (He et al. 2016, the CIFAR variant: 3x3 stem, no max-pool) for 16-32 px
// images, [model] family = "cnn":
//   x = relu(N(conv3x3(images)))                                 (B, c_0, S, S)
//   per stage s, [model.cnn] blocks basic blocks of c_s channels; the first block of every
//   stage after the first has stride 2:
//     y = relu( N(conv3x3(relu(N(conv3x3_stride(x))))) + shortcut(x) )
//     shortcut = x, or N(conv1x1_stride(x)) when the shape changes
//   pooled = mean over H, W                                       (B, c_last)
// N = BatchNorm2d or GroupNorm ([model.cnn] norm). Convs have no bias (the norm follows).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lmlab/model/backbone.h"

namespace lmlab::model {

// conv (no bias) followed by the configured norm; parameters "conv.weight", "norm.weight/bias".
class ConvNormImpl : public torch::nn::Module {
 public:
  ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, const CnnConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);  // (B, in, H, W) -> (B, out, H/stride, W/stride)
  // 2 x MACs of the conv at input side `side`; the output side is ceil(side / stride).
  double flops(int64_t side) const;

  torch::nn::Conv2d conv{nullptr};
  torch::nn::AnyModule norm;

 private:
  int64_t stride_;
};
TORCH_MODULE(ConvNorm);

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride, const CnnConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);
  double flops(int64_t side) const;  // at input side `side`

  ConvNorm conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};  // shortcut: projection only
  int64_t stride;
};
TORCH_MODULE(BasicBlock);

class CnnImpl : public BackboneImpl {
 public:
  explicit CnnImpl(const ModelConfig& cfg);

  // images (B, channels, S, S) -> the last stage's feature map (B, c_last, S', S').
  torch::Tensor features(const torch::Tensor& images);
  torch::Tensor pooled(const BackboneInput& in) override { return features(in.images).mean({2, 3}); }
  int64_t feature_dim() const override { return cfg_.cnn.channels.back(); }
  // 3 x the convolutions' 2 x MACs per image (norms, ReLUs and the pooling, < 1%, are left out).
  double train_flops_per_sample() const override;
  const ModelConfig& config() const { return cfg_; }

  ConvNorm stem{nullptr};
  std::vector<BasicBlock> blocks;  // all stages in order

 private:
  ModelConfig cfg_;
};
TORCH_MODULE(Cnn);

}  // namespace lmlab::model
