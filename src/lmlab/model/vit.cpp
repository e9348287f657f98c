// The vision transformer (see vit.h and docs/model.md).
#include "lmlab/model/vit.h"

#include "lmlab/common/error.h"

namespace lmlab::model {

namespace {
void validate(const ModelConfig& c) {
  validate_transformer_shape(c);
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.image.size <= 0 || c.image.channels <= 0) fail("image.size and image.channels must be > 0");
  if (c.vit.patch_size <= 0 || c.image.size % c.vit.patch_size != 0)
    fail("image.size (" + std::to_string(c.image.size) + ") must be a multiple of vit.patch_size (" +
         std::to_string(c.vit.patch_size) + ")");
}
}  // namespace

VitImpl::VitImpl(const ModelConfig& cfg) : cfg_(cfg) {
  validate(cfg);
  int64_t C = cfg.d_model, P = cfg.vit.patch_size, side = cfg.image.size / P;
  n_patches_ = side * side;
  patch_emb = register_module(
      "patch_emb", torch::nn::Conv2d(torch::nn::Conv2dOptions(cfg.image.channels, C, P).stride(P).bias(true)));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, C}));
  pos_emb = register_parameter("pos_emb", torch::zeros({1, 1 + n_patches_, C}));
  {
    torch::NoGradGuard no_grad;
    patch_emb->weight.normal_(0.0, cfg.init_std);
    patch_emb->bias.zero_();
    cls_token.normal_(0.0, cfg.init_std);
    pos_emb.normal_(0.0, cfg.init_std);
  }
  auto list = register_module("blocks", torch::nn::ModuleList());
  auto bo = bidirectional_block_options(cfg, /*post_norm=*/false);
  auto ffn = gelu_ffn_options(cfg);
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    Block b(bo, l, [&] { return std::make_shared<DenseFfnImpl>(ffn); });
    list->push_back(b);
    blocks.push_back(b);
  }
  norm = register_module("norm", Norm(NormOptions::layer_norm(C, cfg.norm_eps)));
}

torch::Tensor VitImpl::tokens(const torch::Tensor& images) {
  int64_t S = cfg_.image.size;
  TORCH_CHECK(images.dim() == 4 && images.size(1) == cfg_.image.channels && images.size(2) == S && images.size(3) == S,
              "Vit: images must be (B, ", cfg_.image.channels, ", ", S, ", ", S, ")");
  int64_t B = images.size(0);
  auto patches = patch_emb(images).flatten(2).transpose(1, 2);                    // (B, N, C)
  auto x = torch::cat({cls_token.expand({B, 1, cfg_.d_model}), patches}, 1) + pos_emb;  // (B, 1+N, C)
  if (cfg_.dropout > 0 && is_training()) x = torch::dropout(x, cfg_.dropout, true);
  BlockContext ctx;
  for (auto& block : blocks) x = block->forward(x, ctx);
  return norm(x);
}

double VitImpl::train_flops_per_sample() const {
  int64_t T = 1 + n_patches_;
  double forward = 2.0 * static_cast<double>(n_patches_ * patch_emb->weight.numel());
  for (const auto& b : blocks)
    forward += static_cast<double>(T) * (b->attn->flops_per_token(T) + b->ffn->flops_per_token());
  return 3.0 * forward;
}

}  // namespace lmlab::model
