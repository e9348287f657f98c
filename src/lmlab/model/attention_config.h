// [model.attention]: the attention block by registry name, and UniAttn's SuperBlocks
// (arXiv 2502.00439, docs/uniattn.md). Layer i computes its own softmax iff
//   (i - b) % g == 0  or  i < b  or  i >= e;
// every other layer reuses the matrix of the layer before it (hence of its SuperBlock's first
// layer), as the official code decides it. g = 1 (the default) is the plain model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab {

// AttentionRegistry's names, the allowed values of [model.attention] type (model/attention.cpp).
std::vector<std::string> attention_type_names();

struct AttentionConfig {
  std::string type = "mha";
  int64_t unify_group = 1;  // g: layers per SuperBlock
  int64_t unify_begin = 0;  // b: first layer of the first SuperBlock
  int64_t unify_end = -1;   // e: layers >= e are untouched; -1 = n_layer
  std::string share = "softmax";
  bool compensation = false;
  bool skip_reused = true;

  template <class V>
  void visit(V& v) {
    v.field("type", type, "attention block, by registry name (lmlab/model/attention.h) [decoder, encoder, vit]",
            attention_type_names());
    v.field("unify_group", unify_group,
            "UniAttn g: layers per SuperBlock; 1 = no SuperBlocks (the plain model) [decoder]");
    v.field("unify_begin", unify_begin, "UniAttn b: the first SuperBlock starts at this layer [decoder]");
    v.field("unify_end", unify_end,
            "UniAttn e: layers from e on are untouched; -1 = the last layer (the official 32-layer example "
            "uses 33) [decoder]");
    v.field("share", share,
            "what a SuperBlock's later layers take from its first: softmax = its softmax matrix (UniAttn; "
            "own V), kv = its keys and values (cross-layer KV sharing, CLA; own queries and softmax, no "
            "wk/wv) [decoder]",
            {"softmax", "kv"});
    v.field("compensation", compensation,
            "UniAttn's W_c: every softmax-reusing layer adds W_c RMSNorm(x) to its attention output "
            "(blocks.N.wc, zero-initialised; `lmlab uniattn init` fits it) [decoder]");
    v.field("skip_reused", skip_reused,
            "true: softmax-reusing layers skip wq, wk, the K cache, QK^T and softmax; false: they run and "
            "discard them, as the released code does (for the benchmark; same logits) [decoder]");
  }
};

// What one layer's attention does inside the SuperBlock layout.
enum class UnifyRole {
  kPlain,   // computes and keeps its own attention (outside SuperBlocks, or g = 1)
  kFirst,   // first layer of a SuperBlock: computes it and passes it on
  kReuse,   // takes the SuperBlock's softmax matrix (share = softmax) or K/V (share = kv)
};

// One role per layer. UserError naming the key when (g, b, e) does not tile the layers into
// whole SuperBlocks: g < 1, b outside the model, e <= b, or a SuperBlock cut by e or by the
// last layer.
std::vector<UnifyRole> unify_roles(const AttentionConfig& a, int64_t n_layer);

}  // namespace lmlab
