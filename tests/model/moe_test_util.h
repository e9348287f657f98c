// Helpers for the MoE tests: double-precision default dtype, O(1) weights, a naive
// one-token-at-a-time reference of a routed layer that shares no code with the dispatch, and a
// small batch with a row-by-row comparison against such a reference.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe::testing {

// Tests run in double so references agree to ~1e-9 except through the fp32 router.
class MoeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    c10::set_default_dtype(caffe2::TypeMeta::Make<double>());
  }
  void TearDown() override { c10::set_default_dtype(caffe2::TypeMeta::Make<float>()); }
};

// Scales every floating parameter so activations are O(1) rather than O(1e-4).
inline void scale_params(torch::nn::Module& m, double factor) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.mul_(factor);
}

// One SwiGLU expert on one token: x (C), wg/wu (C, H), wd (H, C).
inline torch::Tensor swiglu_row(const torch::Tensor& x, const torch::Tensor& wg, const torch::Tensor& wu,
                                const torch::Tensor& wd) {
  return (torch::silu(x.matmul(wg)) * x.matmul(wu)).matmul(wd);
}

inline std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kDouble).contiguous().cpu();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

inline std::vector<double> softmax(const std::vector<double>& z) {
  double mx = -INFINITY;
  for (double v : z) mx = std::max(mx, v);
  std::vector<double> p(z.size());
  double s = 0;
  for (size_t i = 0; i < z.size(); ++i) s += (p[i] = std::isinf(z[i]) ? 0.0 : std::exp(z[i] - mx));
  for (double& v : p) v /= s;
  return p;
}

inline std::vector<int64_t> order_desc(const std::vector<double>& p) {
  std::vector<int64_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  return idx;
}

using Picks = std::vector<std::pair<int64_t, double>>;  // (expert, weight)

// Top-k of probabilities p, dropping zero-probability experts, renormalised when asked (k > 1).
inline Picks naive_topk(const std::vector<double>& p, int64_t k, bool renormalize) {
  Picks out;
  auto idx = order_desc(p);
  double s = 0;
  for (int64_t j = 0; j < k; ++j)
    if (p[idx[j]] > 0) {
      out.push_back({idx[j], p[idx[j]]});
      s += p[idx[j]];
    }
  if (renormalize && k > 1)
    for (auto& [e, w] : out) w /= s;
  return out;
}

// Router probabilities of one token, computed from the router weight in double.
inline std::vector<double> naive_probs(const RoutedMoeImpl& b, const torch::Tensor& u_t) {
  return softmax(to_vector(b.router->weight.matmul(u_t)));
}

// y_t = sum_picks w FFN_e(u_t), then the shared experts (sum or coefficient mix).
inline torch::Tensor naive_combine(const RoutedMoeImpl& b, const torch::Tensor& u_t, const Picks& picks) {
  auto y = torch::zeros_like(u_t);
  for (const auto& [e, w] : picks)
    y = y + w * swiglu_row(u_t, b.experts->w_gate[e], b.experts->w_up[e], b.experts->w_down[e]);
  if (!b.shared) return y;
  auto s = torch::zeros_like(u_t);
  for (int64_t i = 0; i < b.opt.n_shared; ++i)
    s = s + swiglu_row(u_t, b.shared->w_gate[i], b.shared->w_up[i], b.shared->w_down[i]);
  if (!b.coefficient) return y + s;
  auto c = softmax(to_vector(b.coefficient->weight.matmul(u_t) + b.coefficient->bias));
  return c[0] * y + c[1] * s;
}

inline RoutedMoeOptions small_options(int64_t E, int64_t k, int64_t n_shared = 0, const std::string& mix = "sum") {
  RoutedMoeOptions o;
  o.d_model = 8;
  o.n_experts = E;
  o.top_k = k;
  o.expert_hidden = 12;
  o.n_shared = n_shared;
  o.shared_hidden = 12;
  o.shared_mix = mix;
  return o;
}

constexpr int64_t kTokens = 10, kVocab = 30;

struct Batch {
  torch::Tensor x;    // (2, 5, C)
  FfnContext ctx;     // token ids (2, 5)
};

inline Batch batch(int64_t C) {
  return {torch::randn({2, kTokens / 2, C}), {torch::randint(0, kVocab, {2, kTokens / 2}, torch::kLong), 0}};
}

// y (B, T, C) row t against ref(t, u_t).
template <class Ref>
void expect_rows(const torch::Tensor& y, const Batch& b, Ref ref, double tol = 1e-6) {
  auto u = b.x.reshape({kTokens, -1});
  auto yf = y.reshape({kTokens, -1});
  for (int64_t t = 0; t < kTokens; ++t)
    EXPECT_TRUE(torch::allclose(yf[t], ref(t, u[t]), tol, tol)) << "token " << t << "\n" << yf[t] << ref(t, u[t]);
}

}  // namespace lmlab::model::moe::testing
