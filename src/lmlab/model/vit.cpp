// The vision transformer (see vit.h and docs/model.md).
#include "lmlab/model/vit.h"

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/model/lora.h"
#include "lmlab/model/tome.h"

namespace lmlab::model {

namespace {
void validate_vit(const ModelConfig& c) {
  validate_transformer_shape(c);
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.image.size <= 0 || c.image.channels <= 0) fail("image.size and image.channels must be > 0");
  if (c.vit.patch_size <= 0 || c.image.size % c.vit.patch_size != 0)
    fail("image.size (" + std::to_string(c.image.size) + ") must be a multiple of vit.patch_size (" +
         std::to_string(c.vit.patch_size) + ")");
}
}  // namespace

VitImpl::VitImpl(const ModelConfig& cfg) : cfg_(cfg) {
  validate_vit(cfg);
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
  add_lora();
  add_tome();
}

// Each block's attention becomes a LoraAttention around the same weights (names unchanged).
void VitImpl::add_lora() {
  const VitConfig& v = cfg_.vit;
  if (v.lora_rank < 0) throw UserError("[model.vit] lora_rank must be >= 0");
  if (v.lora_rank == 0) return;
  if (v.lora_dropout < 0 || v.lora_dropout >= 1) throw UserError("[model.vit] lora_dropout must be in [0, 1)");
  LoraOptions lo{v.lora_rank, v.lora_alpha, v.lora_dropout};
  for (auto& b : blocks) {
    auto mha = std::dynamic_pointer_cast<MultiHeadAttentionImpl>(b->attn);
    if (!mha) throw UserError("[model.vit] lora_rank: LoRA wraps the \"mha\" attention only");
    auto lora = std::make_shared<LoraAttentionImpl>(mha, lo);
    b->replace_module("attn", lora);
    b->attn = lora;
  }
}

// The merge schedule (capped) and, with PYRA, one module per merging layer.
void VitImpl::add_tome() {
  const VitConfig& v = cfg_.vit;
  const int64_t L = cfg_.n_layer, T = 1 + n_patches_;
  std::vector<int64_t> wanted;
  if (v.tome_schedule == "constant") wanted.assign(L, v.tome_r);
  if (v.tome_schedule == "list") wanted = v.tome_r_list;
  if (v.tome_schedule == "low" || v.tome_schedule == "high")
    wanted = scale_tome_schedule(tome_preset(v.tome_schedule), L, T);
  if (static_cast<int64_t>(wanted.size()) > L)
    throw UserError("[model.vit] tome_r_list has " + std::to_string(wanted.size()) + " entries for n_layer = " +
                    std::to_string(L));
  tome_r_ = capped_schedule(wanted, L, T);
  bool merges = std::any_of(tome_r_.begin(), tome_r_.end(), [](int64_t r) { return r > 0; });
  pyra.assign(L, Pyra(nullptr));
  if (!v.pyra) return;
  if (!merges) throw UserError("[model.vit] pyra = true needs a tome_schedule that merges tokens");
  for (int64_t l = 0; l < L; ++l)
    if (tome_r_[l] > 0) pyra[l] = register_module("pyra_" + std::to_string(l), Pyra(tome_r_[l], cfg_.d_model, cfg_.norm_eps));
}

std::vector<int64_t> VitImpl::token_counts() const { return model::token_counts(tome_r_, 1 + n_patches_); }

void VitImpl::merge_lora() {
  for (auto& b : blocks)
    if (auto lora = std::dynamic_pointer_cast<LoraAttentionImpl>(b->attn)) lora->merge();
}

int64_t VitImpl::pyra_params(bool with_norm) const {
  int64_t n = 0;
  for (const auto& p : pyra)
    if (p) n += with_norm ? p->w_r.numel() + p->w_d.numel() + 2 * cfg_.d_model : p->paper_params();
  return n;
}

torch::Tensor VitImpl::tokens(const torch::Tensor& images) {
  int64_t S = cfg_.image.size;
  TORCH_CHECK(images.dim() == 4 && images.size(1) == cfg_.image.channels && images.size(2) == S && images.size(3) == S,
              "Vit: images must be (B, ", cfg_.image.channels, ", ", S, ", ", S, ")");
  int64_t B = images.size(0);
  auto patches = patch_emb(images).flatten(2).transpose(1, 2);                    // (B, N, C)
  auto x = torch::cat({cls_token.expand({B, 1, cfg_.d_model}), patches}, 1) + pos_emb;  // (B, 1+N, C)
  if (cfg_.dropout > 0 && is_training()) x = torch::dropout(x, cfg_.dropout, true);
  if (std::all_of(tome_r_.begin(), tome_r_.end(), [](int64_t r) { return r == 0; })) {
    BlockContext ctx;
    for (auto& block : blocks) x = block->forward(x, ctx);
    return norm(x);
  }
  torch::Tensor size;  // (B, N_l, 1) tokens per merged token; undefined before the first merge
  for (size_t l = 0; l < blocks.size(); ++l) {
    TomeStep step{static_cast<int64_t>(l), tome_r_[l], cfg_.vit.tome_prop_attn, cfg_.dropout,
                  pyra[l] ? pyra[l].get() : nullptr};
    x = tome_block_forward(*blocks[l], x, size, step);  // (B, N_{l+1}, C)
  }
  return norm(x);
}

double VitImpl::train_flops_per_sample() const {
  // attention at the N_l tokens entering layer l, the FFN at the N_{l+1} left after its merge
  std::vector<int64_t> n = token_counts();
  double forward = 2.0 * static_cast<double>(n_patches_ * patch_emb->weight.numel());
  for (size_t l = 0; l < blocks.size(); ++l)
    forward += static_cast<double>(n[l]) * blocks[l]->attn->flops_per_token(n[l]) +
               static_cast<double>(n[l + 1]) * blocks[l]->ffn->flops_per_token();
  return 3.0 * forward;
}

}  // namespace lmlab::model
