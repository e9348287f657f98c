// Token merging (see tome.h).
#include "lmlab/model/tome.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "lmlab/common/error.h"
#include "lmlab/model/pyra.h"

namespace lmlab::model {

const std::vector<int64_t>& tome_preset(const std::string& name) {
  static const std::vector<int64_t> low = {16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 10};
  static const std::vector<int64_t> high = {40, 34, 30, 24, 18, 14, 10, 8, 4, 4, 3, 3};
  if (name == "low") return low;
  if (name == "high") return high;
  throw UserError("model.vit.tome_schedule: no preset '" + name + "'" + did_you_mean(name, {"low", "high"}));
}

std::vector<int64_t> scale_tome_schedule(const std::vector<int64_t>& preset, int64_t n_layer, int64_t n_tokens) {
  const int64_t L0 = static_cast<int64_t>(preset.size());
  std::vector<double> cum(L0 + 1, 0.0);  // merged share of the preset's 196 patch tokens after l layers
  for (int64_t l = 0; l < L0; ++l) cum[l + 1] = cum[l] + static_cast<double>(preset[l]) / 196.0;
  auto share = [&](double f) {  // linear between layer boundaries
    double pos = f * static_cast<double>(L0);
    int64_t i = std::min<int64_t>(static_cast<int64_t>(pos), L0 - 1);
    return cum[i] + (pos - static_cast<double>(i)) * (cum[i + 1] - cum[i]);
  };
  std::vector<int64_t> out;
  int64_t done = 0;
  for (int64_t l = 1; l <= n_layer; ++l) {
    double f = static_cast<double>(l) / static_cast<double>(n_layer);
    int64_t total = std::lround(share(f) * static_cast<double>(n_tokens - 1));
    out.push_back(std::max<int64_t>(0, total - done));
    done = std::max(done, total);
  }
  return out;
}

std::vector<int64_t> capped_schedule(const std::vector<int64_t>& wanted, int64_t n_layer, int64_t n_tokens,
                                     int64_t n_protected) {
  std::vector<int64_t> out;
  int64_t n = n_tokens;
  for (int64_t l = 0; l < n_layer; ++l) {
    int64_t w = l < static_cast<int64_t>(wanted.size()) ? wanted[l] : 0;
    if (w < 0) throw UserError("model.vit.tome_r_list: layer " + std::to_string(l) + " has r = " + std::to_string(w) + " < 0");
    int64_t r = std::max<int64_t>(0, std::min(w, (n - n_protected) / 2));
    out.push_back(r);
    n -= r;
  }
  return out;
}

std::vector<int64_t> token_counts(const std::vector<int64_t>& capped, int64_t n_tokens) {
  std::vector<int64_t> out = {n_tokens};
  for (int64_t r : capped) out.push_back(out.back() - r);
  return out;
}

MergePlan bipartite_soft_matching(const torch::Tensor& metric, int64_t r, bool class_token) {
  torch::NoGradGuard no_grad;
  using torch::indexing::Slice;
  auto m = metric / metric.norm(2, {-1}, /*keepdim=*/true);                   // (B, N, D)
  auto a = m.index({Slice(), Slice(0, torch::indexing::None, 2), Slice()});  // (B, N_A, D)
  auto b = m.index({Slice(), Slice(1, torch::indexing::None, 2), Slice()});  // (B, N_B, D)
  auto scores = torch::matmul(a, b.transpose(-1, -2));                         // (B, N_A, N_B)
  if (class_token) scores.index_put_({Slice(), 0, Slice()}, -std::numeric_limits<double>::infinity());
  auto [node_max, node_idx] = scores.max(-1);                                  // (B, N_A)
  auto edge_idx = node_max.argsort(-1, /*descending=*/true).unsqueeze(-1);     // (B, N_A, 1)
  MergePlan p;
  p.r = r;
  p.unm_idx = edge_idx.index({Slice(), Slice(r, torch::indexing::None), Slice()});
  p.src_idx = edge_idx.index({Slice(), Slice(0, r), Slice()});
  p.dst_idx = node_idx.unsqueeze(-1).gather(-2, p.src_idx);
  if (class_token) p.unm_idx = std::get<0>(p.unm_idx.sort(1));  // the CLS token back at the start
  return p;
}

torch::Tensor merge_sum(const MergePlan& p, const torch::Tensor& x, PyraImpl* pyra) {
  using torch::indexing::Slice;
  auto src = x.index({Slice(), Slice(0, torch::indexing::None, 2), Slice()});  // (B, N_A, C)
  auto dst = x.index({Slice(), Slice(1, torch::indexing::None, 2), Slice()});  // (B, N_B, C)
  const int64_t n = src.size(0), t1 = src.size(1), c = src.size(2), r = p.r;
  auto unm = src.gather(-2, p.unm_idx.expand({n, t1 - r, c}));  // (B, N_A - r, C)
  auto moved = src.gather(-2, p.src_idx.expand({n, r, c}));     // (B, r, C)
  if (pyra) moved = pyra->reactivate(moved, dst.gather(-2, p.dst_idx.expand({n, r, c})));
  dst = dst.scatter_add(-2, p.dst_idx.expand({n, r, c}), moved);  // scatter_reduce "sum"
  return torch::cat({unm, dst}, 1);                                // (B, N - r, C)
}

std::pair<torch::Tensor, torch::Tensor> merge_wavg(const MergePlan& p, const torch::Tensor& x, const torch::Tensor& size,
                                                   PyraImpl* pyra) {
  auto s = size.defined() ? size : torch::ones({x.size(0), x.size(1), 1}, x.options());  // (B, N, 1)
  auto merged = merge_sum(p, x * s, pyra);
  auto new_size = merge_sum(p, s);
  return {merged / new_size, new_size};
}

torch::Tensor tome_block_forward(BlockImpl& block, const torch::Tensor& x, torch::Tensor& size, const TomeStep& step) {
  auto drop = [&](const torch::Tensor& t) {
    return step.dropout > 0 && block.is_training() ? torch::dropout(t, step.dropout, true) : t;
  };
  AttentionIn in{block.attn_norm(x)};
  if (step.prop_attn && size.defined()) in.key_bias = size.squeeze(-1).log();  // (B, N)
  in.want_key_mean = step.r > 0;
  AttentionOut a = block.attn->forward(in);
  auto h = x + drop(a.y);  // (B, N, C)
  if (step.r > 0) {
    MergePlan plan = bipartite_soft_matching(a.key_mean, step.r, /*class_token=*/true);
    std::tie(h, size) = merge_wavg(plan, h, size, step.pyra);  // (B, N - r, C)
  }
  FfnContext f{{}, step.layer};
  f.residual = h;
  return h + drop(block.ffn->forward(block.ffn_norm(h), f));
}

}  // namespace lmlab::model
