// Token Merging (ToMe, Bolya et al. 2023) as coded in ToMe's timm patch and PYRA's copy of it
// (THU-MIG/PYRA model/adaptive_merge.py, model/tome.py). In every block
//   x = x + Attn(LN1(x), size)            attention logits += log(size_j)  (proportional attention)
//   merge r_l tokens:  metric = mean over heads of the keys, L2-normalised        (B, N, D_h)
//                      A = tokens 0, 2, 4, ...;  B = tokens 1, 3, 5, ...;  S = A B^T, row of CLS = -inf
//                      the r A-tokens with the largest max_j S_ij ("src") go into their argmax B-token
//                      x' = merge_sum(x * size) / merge_sum(size),  size' = merge_sum(size)
//                      output order: [unmerged A (CLS first); all B]
//   x = x + MLP(LN2(x))
// with r capped at (N - protected) // 2 (protected = 1: the CLS token, which is never merged).
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "lmlab/model/block.h"

namespace lmlab::model {

class PyraImpl;  // pyra.h

// PYRA's ViT-B/16 presets (12 layers, 197 tokens), model/tome.py get_merging_schedule.
const std::vector<int64_t>& tome_preset(const std::string& name);  // "low" | "high"

// A preset moved to `n_layer` layers and `n_tokens` tokens (CLS included): the cumulative share
// of patch tokens merged by relative depth f = l / n_layer is the preset's (linear between its
// layer boundaries), times (n_tokens - 1), rounded; r_l is its increase. Keeps the compression
// ratio and where in depth it happens.
std::vector<int64_t> scale_tome_schedule(const std::vector<int64_t>& preset, int64_t n_layer, int64_t n_tokens);

// The merges each layer really does: r_l = min(wanted_l, (N_l - protected) // 2), N_{l+1} = N_l - r_l.
// `wanted` shorter than n_layer is padded with 0 (as ToMe's parse_r). UserError for r < 0.
std::vector<int64_t> capped_schedule(const std::vector<int64_t>& wanted, int64_t n_layer, int64_t n_tokens,
                                     int64_t n_protected = 1);

// Token count entering each layer, plus the final count: n_layer + 1 numbers.
std::vector<int64_t> token_counts(const std::vector<int64_t>& capped, int64_t n_tokens);

// The bipartite soft matching of one layer: which A-tokens stay, which merge into which B-token.
struct MergePlan {
  int64_t r = 0;
  torch::Tensor unm_idx;  // (B, N_A - r, 1) indices into A of the kept tokens, ascending when class_token
  torch::Tensor src_idx;  // (B, r, 1) indices into A of the merged tokens
  torch::Tensor dst_idx;  // (B, r, 1) their partners, indices into B
};
// metric (B, N, D_h); r already capped. No gradient flows through the plan (ToMe: no_grad).
MergePlan bipartite_soft_matching(const torch::Tensor& metric, int64_t r, bool class_token);

// merge(x, "sum") of the official code: (B, N, C) -> (B, N - r, C). With `pyra`, the src tokens
// are re-activated first (pyra.h) -- only when merging x * size, never the sizes.
torch::Tensor merge_sum(const MergePlan& plan, const torch::Tensor& x, PyraImpl* pyra = nullptr);

// merge_wavg: size-weighted average. size (B, N, 1), undefined = all ones. Returns {x', size'}.
std::pair<torch::Tensor, torch::Tensor> merge_wavg(const MergePlan& plan, const torch::Tensor& x,
                                                   const torch::Tensor& size, PyraImpl* pyra = nullptr);

// What one ToMe block step needs beyond the block itself.
struct TomeStep {
  int64_t layer = 0;            // the block's index (FfnContext)
  int64_t r = 0;                // merges in this layer (capped)
  bool prop_attn = true;        // key_bias = log(size) once sizes exist
  double dropout = 0.0;         // residual dropout, training only (as the block's own)
  PyraImpl* pyra = nullptr;     // PYRA module of this layer, or null
};

// ToMeBlock.forward: attention (with proportional attention), merge, FFN. `size` (B, N, 1) is
// updated in place (undefined until the first merge). With r = 0 and no sizes this computes
// exactly what block->forward does.
torch::Tensor tome_block_forward(BlockImpl& block, const torch::Tensor& x, torch::Tensor& size,
                                 const TomeStep& step);

}  // namespace lmlab::model
