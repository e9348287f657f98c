// On a CUDA machine (libtorch 2.x): the flash/memory-efficient SDPA kernels and the whole model
// agree with the CPU path. Skipped where there is no GPU.
#include <gtest/gtest.h>

#include "lmlab/model/attention.h"
#include "lmlab/model/transformer.h"

using namespace lmlab;
using namespace lmlab::model;

TEST(Cuda, AttentionKernelsEqualTheExplicitPath) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(0);
  for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    double tol = dtype == torch::kFloat32 ? 1e-4 : 3e-2;
    for (auto [Tq, Tk] : {std::pair<int64_t, int64_t>{128, 128}, {1, 128}, {5, 128}}) {
      auto opts = torch::TensorOptions().dtype(dtype).device(torch::kCUDA);
      auto q = torch::randn({2, 4, Tq, 64}, opts), k = torch::randn({2, 4, Tk, 64}, opts),
           v = torch::randn({2, 4, Tk, 64}, opts);
      auto expected = causal_attention_explicit(q.to(torch::kCPU, torch::kFloat64), k.to(torch::kCPU, torch::kFloat64),
                                                v.to(torch::kCPU, torch::kFloat64), 0.0);
      auto got = causal_attention(q, k, v, 0.0).to(torch::kCPU, torch::kFloat64);
      EXPECT_LT((got - expected).abs().max().item<double>(), tol) << dtype << " " << Tq << "x" << Tk;
    }
  }
}

TEST(Cuda, ModelAndKvCacheEqualTheCpuForward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const std::string arch : {"llama", "gpt2"}) {
    ModelConfig c;
    c.arch = arch;
    c.n_layer = 2;
    c.n_head = 4;
    c.d_model = 64;
    c.vocab_size = 100;
    torch::manual_seed(0);
    Transformer model(c);
    model->eval();
    torch::NoGradGuard no_grad;
    auto idx = torch::randint(100, {2, 16}, torch::kInt64);
    auto cpu = model->forward(idx);
    model->to(torch::kCUDA);
    auto cuda_idx = idx.to(torch::kCUDA);
    EXPECT_LT((model->forward(cuda_idx).cpu() - cpu).abs().max().item<double>(), 1e-4) << arch;
    KVCache cache;
    using torch::indexing::Slice;
    model->forward_cached(cuda_idx.index({Slice(), Slice(0, 10)}), cache);
    auto last = model->forward_cached(cuda_idx.index({Slice(), Slice(10, 16)}), cache).cpu();
    EXPECT_LT((last - cpu.index({Slice(), Slice(10, 16)})).abs().max().item<double>(), 1e-4) << arch;
  }
}
