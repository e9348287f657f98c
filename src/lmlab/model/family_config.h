// The sub-sections of [model] that only the non-decoder families read: [model.encoder],
// [model.image] (shared by vit and cnn), [model.vit], [model.cnn]. See docs/model.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab {

struct EncoderConfig {
  int64_t n_segments = 2;
  bool tanh_pooler = false;

  template <class V>
  void visit(V& v) {
    v.field("n_segments", n_segments, "rows of the segment (token type) embedding; BERT: 2 [encoder]");
    v.field("tanh_pooler", tanh_pooler,
            "pooled = tanh(W h_[CLS] + b) as BERT's pooler; false = the [CLS] hidden state itself [encoder]");
  }
};

struct ImageConfig {
  int64_t size = 32;
  int64_t channels = 3;

  template <class V>
  void visit(V& v) {
    v.field("size", size, "height = width of the input images, in pixels [vit, cnn]");
    v.field("channels", channels, "channels of the input images (3 = RGB) [vit, cnn]");
  }
};

struct VitConfig {
  int64_t patch_size = 4;
  // ToMe token merging, LoRA on qkv and PYRA (model/tome.h, model/lora.h, model/pyra.h).
  std::string tome_schedule = "none";
  int64_t tome_r = 0;
  std::vector<int64_t> tome_r_list = {};
  bool tome_prop_attn = true;
  int64_t lora_rank = 0;
  double lora_alpha = 0.0;
  double lora_dropout = 0.1;
  bool pyra = false;

  template <class V>
  void visit(V& v) {
    v.field("patch_size", patch_size, "side of the square patches; image.size must be a multiple of it [vit]");
    v.field("tome_schedule", tome_schedule,
            "ToMe merges per layer (docs/pyra.md): none; constant = tome_r in every layer; list = tome_r_list; "
            "low / high = PYRA's ViT-B presets scaled to n_layer and the token count [vit]",
            {"none", "constant", "list", "low", "high"});
    v.field("tome_r", tome_r, "tokens merged in every layer [vit, tome_schedule = constant]");
    v.field("tome_r_list", tome_r_list, "tokens merged per layer, missing layers 0 [vit, tome_schedule = list]");
    v.field("tome_prop_attn", tome_prop_attn, "proportional attention: logits += log(size of key j) [vit, ToMe]");
    v.field("lora_rank", lora_rank, "LoRA on qkv: rank (0 = no LoRA) [vit]");
    v.field("lora_alpha", lora_alpha, "LoRA scale alpha / rank; 0 = rank (scale 1, as PYRA's code) [vit]");
    v.field("lora_dropout", lora_dropout, "dropout on the LoRA branch input, training only (PYRA 0.1) [vit]");
    v.field("pyra", pyra, "PYRA re-activation of the tokens each merge removes (needs a ToMe schedule) [vit]");
  }
};

struct CnnConfig {
  std::vector<int64_t> channels = {16, 32, 64};
  int64_t blocks = 2;
  std::string norm = "batch";
  int64_t groups = 8;

  template <class V>
  void visit(V& v) {
    v.field("channels", channels,
            "output channels of each stage; every stage after the first halves the resolution [cnn]");
    v.field("blocks", blocks, "residual basic blocks per stage [cnn]");
    v.field("norm", norm,
            "normalisation after each conv: batch = BatchNorm (ResNet), group = GroupNorm (no batch "
            "statistics) [cnn]",
            {"batch", "group"});
    v.field("groups", groups, "groups of GroupNorm; must divide every stage's channels [cnn, norm = group]");
  }
};

}  // namespace lmlab
