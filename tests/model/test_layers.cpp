// Attention, RoPE, RMSNorm and the one-row linear against direct, loop-by-loop references and
// against the textbook composition of libtorch ops they replace (values and gradients).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "lmlab/model/attention.h"
#include "lmlab/model/linear_rows.h"
#include "lmlab/model/norm.h"
#include "lmlab/model/rope.h"

using namespace lmlab::model;

namespace {

// softmax over the keys a query may see, one query position at a time, in double.
torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  int64_t Tq = q.size(2), Tk = k.size(2), D = q.size(3);
  auto out = torch::zeros_like(q);
  for (int64_t i = 0; i < Tq; ++i) {
    int64_t visible = Tk - Tq + i + 1;
    using torch::indexing::Slice;
    auto qi = q.index({Slice(), Slice(), i});                      // (B, H, D)
    auto ks = k.index({Slice(), Slice(), Slice(0, visible)});      // (B, H, visible, D)
    auto vs = v.index({Slice(), Slice(), Slice(0, visible)});
    auto scores = (ks * qi.unsqueeze(2)).sum(-1) / std::sqrt(static_cast<double>(D));  // (B, H, visible)
    auto w = torch::exp(scores - std::get<0>(scores.max(-1, true)));
    w = w / w.sum(-1, true);
    out.index_put_({Slice(), Slice(), i}, (w.unsqueeze(-1) * vs).sum(2));
  }
  return out;
}

// The textbook form (bench/gpt2_reference.py's on torch 1.13): (q k^T) / sqrt(D), masked_fill
// with the bottom-right-aligned causal mask, softmax, @ v, every op differentiated by autograd.
torch::Tensor textbook_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  int64_t Tq = q.size(2), Tk = k.size(2);
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  auto hidden = torch::ones({Tq, Tk}, torch::kBool).triu(Tk - Tq + 1);
  return torch::matmul(torch::softmax(att.masked_fill(hidden, -INFINITY), -1), v);
}

// The composed rotate-half formula apply_rope replaces, differentiated by autograd.
torch::Tensor textbook_rope(const torch::Tensor& x, const RopeTables& rope) {
  int64_t half = x.size(-1) / 2;
  return x * rope.cos + torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1) * rope.sin;
}

// d(sum(f(inputs) * w))/d inputs for a fixed random weight w: every output element reaches the loss.
std::vector<torch::Tensor> grads_of(const std::function<torch::Tensor(std::vector<torch::Tensor>&)>& f,
                                    std::vector<torch::Tensor> inputs, const torch::Tensor& w) {
  for (auto& t : inputs) t = t.detach().clone().requires_grad_(true);
  (f(inputs) * w).sum().backward();
  std::vector<torch::Tensor> out;
  for (auto& t : inputs) out.push_back(t.grad());
  return out;
}

}  // namespace

TEST(Attention, ExplicitPathEqualsPerPositionLoop) {
  torch::manual_seed(0);
  auto opts = torch::kFloat64;
  for (auto [Tq, Tk] : {std::pair<int64_t, int64_t>{7, 7}, {1, 9}, {3, 8}}) {  // training, decode, chunked decode
    auto q = torch::randn({2, 3, Tq, 8}, opts), k = torch::randn({2, 3, Tk, 8}, opts), v = torch::randn({2, 3, Tk, 8}, opts);
    auto got = causal_attention_explicit(q, k, v, 0.0);
    EXPECT_LT((got - naive_attention(q, k, v)).abs().max().item<double>(), 1e-12) << Tq << "x" << Tk;
  }
}

TEST(Attention, ExplicitPathHasTheTextbookGradients) {
  // fp64: the q-side scale and the softmax-only backward are the same function; fp32: the same
  // up to rounding (the scale is applied to q, not to the scores). Layouts as in the model: the
  // heads are transposed views. Shapes: training, one decoded query, a chunk of queries.
  torch::manual_seed(4);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-5;
    for (auto [Tq, Tk] : {std::pair<int64_t, int64_t>{7, 7}, {1, 9}, {3, 8}}) {
      auto heads = [&](int64_t T) { return torch::randn({2, T, 3, 8}, dtype).transpose(1, 2); };  // (B, H, T, D)
      std::vector<torch::Tensor> qkv = {heads(Tq), heads(Tk), heads(Tk)};
      auto w = torch::randn({2, 3, Tq, 8}, dtype);
      auto got = grads_of([](auto& t) { return causal_attention_explicit(t[0], t[1], t[2], 0.0); }, qkv, w);
      auto want = grads_of([](auto& t) { return textbook_attention(t[0], t[1], t[2]); }, qkv, w);
      for (size_t i = 0; i < 3; ++i)
        EXPECT_LT((got[i] - want[i]).abs().max().item<double>(), tol) << "qkv"[i] << " " << Tq << "x" << Tk;
      auto y = causal_attention_explicit(qkv[0], qkv[1], qkv[2], 0.0);
      EXPECT_LT((y - textbook_attention(qkv[0], qkv[1], qkv[2])).abs().max().item<double>(), tol);
    }
  }
}

TEST(Attention, DispatchedPathEqualsExplicitPath) {
  // On libtorch 2.x this compares scaled_dot_product_attention with the masked softmax; on 1.13
  // both are the explicit path and the test checks the dispatch only.
  torch::manual_seed(1);
  for (auto [Tq, Tk] : {std::pair<int64_t, int64_t>{16, 16}, {1, 16}, {4, 16}}) {
    auto q = torch::randn({2, 4, Tq, 16}), k = torch::randn({2, 4, Tk, 16}), v = torch::randn({2, 4, Tk, 16});
    auto diff = (causal_attention(q, k, v, 0.0) - causal_attention_explicit(q, k, v, 0.0)).abs().max();
    EXPECT_LT(diff.item<double>(), 1e-5) << Tq << "x" << Tk;
  }
}

TEST(Rope, EqualsDirectCosSinFormula) {
  torch::manual_seed(2);
  int64_t D = 8, T = 5, start = 3;
  double theta = 500.0;
  auto x = torch::randn({1, 2, T, D}, torch::kFloat64);
  auto got = apply_rope(x, rope_tables(start, T, D, theta, torch::kCPU)).to(torch::kFloat64);
  auto xa = x.accessor<double, 4>();
  auto ga = got.accessor<double, 4>();
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < D / 2; ++i) {
        double a = static_cast<double>(start + t) * std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(D));
        double x0 = xa[0][h][t][i], x1 = xa[0][h][t][i + D / 2];
        EXPECT_NEAR(ga[0][h][t][i], x0 * std::cos(a) - x1 * std::sin(a), 1e-5);
        EXPECT_NEAR(ga[0][h][t][i + D / 2], x0 * std::sin(a) + x1 * std::cos(a), 1e-5);
      }
}

// The property RoPE exists for: the score of q at position m and k at position n depends on m - n only.
TEST(Rope, ScoresDependOnRelativePositionOnly) {
  torch::manual_seed(3);
  auto q = torch::randn({1, 1, 1, 16}), k = torch::randn({1, 1, 1, 16});
  auto score = [&](int64_t m, int64_t n) {
    auto qm = apply_rope(q, rope_tables(m, 1, 16, 10000.0, torch::kCPU));
    auto kn = apply_rope(k, rope_tables(n, 1, 16, 10000.0, torch::kCPU));
    return (qm * kn).sum().item<double>();
  };
  EXPECT_NEAR(score(5, 2), score(13, 10), 1e-4);
  EXPECT_GT(std::abs(score(5, 2) - score(5, 4)), 1e-3);
}

TEST(Rope, EqualsTheComposedFormulaBitForBitWithItsGradient) {
  // The rotation with its own backward does the composed formula's roundings, in the same order:
  // equal values and gradients, for the model's transposed heads and for a contiguous tensor.
  torch::manual_seed(5);
  auto rope = rope_tables(2, 6, 16, 10000.0, torch::kCPU);
  for (auto x : {torch::randn({2, 6, 3, 16}).transpose(1, 2), torch::randn({2, 3, 6, 16})}) {
    auto w = torch::randn({2, 3, 6, 16});
    auto y = apply_rope(x, rope);
    EXPECT_TRUE(torch::equal(y, textbook_rope(x, rope)));
    EXPECT_TRUE(y.is_contiguous());  // the attention matmuls then flatten the heads without a copy
    auto got = grads_of([&](auto& t) { return apply_rope(t[0], rope); }, {x}, w);
    auto want = grads_of([&](auto& t) { return textbook_rope(t[0], rope); }, {x}, w);
    EXPECT_TRUE(torch::equal(got[0], want[0]));
  }
  EXPECT_THROW(apply_rope(torch::randn({1, 1, 6, 16}), {rope.cos.clone().requires_grad_(true), rope.sin}), c10::Error);
}

TEST(RmsNorm, HasTheComposedFormulasValuesAndGradients) {
  // The closed-form backward against autograd through x * rsqrt(mean(x^2) + eps) * w: the same
  // function (fp64), the same up to rounding (fp32, whose forward is the same ops: bit-equal).
  torch::manual_seed(6);
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 1e-5;
    Norm norm(NormOptions{24, /*rms=*/true, 1e-5, false});
    norm->to(dtype);
    auto weight = norm->named_parameters()["weight"];
    auto x = torch::randn({3, 5, 24}, dtype) * 3, w = torch::randn({24}, dtype), gy = torch::randn({3, 5, 24}, dtype);
    {
      torch::NoGradGuard no_grad;
      weight.copy_(w);
    }
    auto composed = [&](const std::vector<torch::Tensor>& t) {
      return t[0] * torch::rsqrt(t[0].pow(2).mean(-1, true) + 1e-5) * t[1];
    };
    auto want = grads_of(composed, {x, w}, gy);
    auto xg = x.clone().requires_grad_(true);
    auto y = norm(xg);
    (y * gy).sum().backward();
    if (dtype == torch::kFloat32) {
      EXPECT_TRUE(torch::equal(y, composed({x, w})));
    }
    EXPECT_LT((xg.grad() - want[0]).abs().max().item<double>(), tol);
    EXPECT_LT((weight.grad() - want[1]).abs().max().item<double>(), tol);
    weight.requires_grad_(false);  // frozen (train.freeze): x's gradient is unchanged
    auto xf = x.clone().requires_grad_(true);
    (norm(xf) * gy).sum().backward();
    EXPECT_TRUE(torch::equal(xf.grad(), xg.grad()));
  }
}

// A single row (one decoded token) is torch::mv bit for bit, torch's linear to rounding, with or
// without bias, and trains (mv has a gradient); several rows are torch's linear exactly.
TEST(LinearRows, OneRowIsAMatrixVectorProductAndMoreRowsAreLinear) {
  torch::manual_seed(4);
  const auto w = torch::randn({48, 32}), b = torch::randn({48}), x = torch::randn({1, 1, 32});
  for (const torch::Tensor& bias : {torch::Tensor(), b}) {
    const auto got = linear_rows(x, w, bias);
    const auto want = torch::nn::functional::linear(x, w, bias);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-5);
    const auto mv = bias.defined() ? torch::addmv(bias, w, x.reshape({32})) : torch::mv(w, x.reshape({32}));
    EXPECT_TRUE(torch::equal(got, mv.view({1, 1, 48})));
  }
  const auto rows = torch::randn({2, 3, 32});
  EXPECT_TRUE(torch::equal(linear_rows(rows, w, b), torch::nn::functional::linear(rows, w, b)));
  auto wg = w.clone().requires_grad_();
  linear_rows(x, wg).sum().backward();  // d sum(W x) / dW = 1 x^T
  EXPECT_TRUE(torch::allclose(wg.grad(), x.reshape({1, 32}).expand({48, 32})));
}
