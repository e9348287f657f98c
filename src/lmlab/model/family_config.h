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

  template <class V>
  void visit(V& v) {
    v.field("patch_size", patch_size, "side of the square patches; image.size must be a multiple of it [vit]");
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
