// The ResNet-style CNN (see cnn.h and docs/model.md).
#include "lmlab/model/cnn.h"

#include "lmlab/common/error.h"

namespace lmlab::model {

namespace {
void validate_cnn(const ModelConfig& c) {
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.image.size <= 0 || c.image.channels <= 0) fail("image.size and image.channels must be > 0");
  if (c.cnn.channels.empty()) fail("cnn.channels must list at least one stage");
  if (c.cnn.blocks < 1) fail("cnn.blocks must be >= 1");
  for (int64_t ch : c.cnn.channels) {
    if (ch <= 0) fail("cnn.channels must all be > 0");
    if (c.cnn.norm == "group" && (c.cnn.groups <= 0 || ch % c.cnn.groups != 0))
      fail("cnn.groups (" + std::to_string(c.cnn.groups) + ") must divide every stage's channels (" +
           std::to_string(ch) + ")");
  }
}

int64_t out_side(int64_t side, int64_t stride) { return (side + stride - 1) / stride; }
}  // namespace

ConvNormImpl::ConvNormImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, const CnnConfig& cfg)
    : stride_(stride) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  // torchvision's ResNet init: He normal with the fan-out mode, norm gains 1 and biases 0.
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  if (cfg.norm == "group")
    norm = torch::nn::AnyModule(torch::nn::GroupNorm(cfg.groups, out));
  else
    norm = torch::nn::AnyModule(torch::nn::BatchNorm2d(out));
  register_module("norm", norm.ptr());
}

torch::Tensor ConvNormImpl::forward(const torch::Tensor& x) { return norm.forward<torch::Tensor>(conv(x)); }

double ConvNormImpl::flops(int64_t side) const {
  int64_t s = out_side(side, stride_);
  return 2.0 * static_cast<double>(conv->weight.numel() * s * s);
}

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride, const CnnConfig& cfg) : stride(stride) {
  conv1 = register_module("conv1", ConvNorm(in, out, 3, stride, cfg));
  conv2 = register_module("conv2", ConvNorm(out, out, 3, 1, cfg));
  if (stride != 1 || in != out) shortcut = register_module("shortcut", ConvNorm(in, out, 1, stride, cfg));
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto y = conv2(torch::relu(conv1(x)));  // (B, out, H/stride, W/stride)
  return torch::relu(y + (shortcut ? shortcut(x) : x));
}

double BasicBlockImpl::flops(int64_t side) const {
  double f = conv1->flops(side) + conv2->flops(out_side(side, stride));
  return shortcut ? f + shortcut->flops(side) : f;
}

CnnImpl::CnnImpl(const ModelConfig& cfg) : cfg_(cfg) {
  validate_cnn(cfg);
  const auto& c = cfg.cnn;
  stem = register_module("stem", ConvNorm(cfg.image.channels, c.channels[0], 3, 1, c));
  auto list = register_module("blocks", torch::nn::ModuleList());
  int64_t in = c.channels[0];
  for (size_t s = 0; s < c.channels.size(); ++s)
    for (int64_t b = 0; b < c.blocks; ++b) {
      BasicBlock block(in, c.channels[s], s > 0 && b == 0 ? 2 : 1, c);
      list->push_back(block);
      blocks.push_back(block);
      in = c.channels[s];
    }
}

torch::Tensor CnnImpl::features(const torch::Tensor& images) {
  int64_t S = cfg_.image.size;
  TORCH_CHECK(images.dim() == 4 && images.size(1) == cfg_.image.channels,
              "Cnn: images must be (B, ", cfg_.image.channels, ", H, W), configured H = W = ", S);
  auto x = torch::relu(stem(images));  // (B, c_0, S, S)
  for (auto& block : blocks) x = block->forward(x);
  return x;
}

double CnnImpl::train_flops_per_sample() const {
  int64_t side = cfg_.image.size;
  double forward = stem->flops(side);
  for (const auto& b : blocks) {
    forward += b->flops(side);
    side = out_side(side, b->stride);
  }
  return 3.0 * forward;
}

}  // namespace lmlab::model
