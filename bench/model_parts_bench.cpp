// Forward + backward CPU time of the decoder parts lmlab writes as autograd functions (RoPE,
// the explicit causal attention of libtorch 1.13, RMSNorm) against the textbook composition of
// libtorch ops they replace (bench/gpt2_reference.py's, and lmlab's before issue #22), on the
// quickstart model's shapes: B = 16, T = 128, 4 heads of 32, d = 128. One thread, and the cases
// alternate call by call in one process, so a change of the machine's load weighs on every case
// alike (the whole-step comparison is bench/train_cpu_bench.sh). Process CPU time per call.
//   model_parts_bench [--iters N]       (default 200; prints median, p10, p90 per case)
// Run it as OPENBLAS_NUM_THREADS=1 build/bench/model_parts_bench (one BLAS thread as well).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "lmlab/model/attention.h"
#include "lmlab/model/norm.h"
#include "lmlab/model/rope.h"

using namespace lmlab::model;

namespace {

torch::Tensor textbook_rope(const torch::Tensor& x, const RopeTables& rope) {
  int64_t half = x.size(-1) / 2;
  return x * rope.cos + torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1) * rope.sin;
}

torch::Tensor textbook_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  int64_t Tq = q.size(2), Tk = k.size(2);
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));  // (B, H, Tq, Tk)
  auto hidden = torch::ones({Tq, Tk}, torch::kBool).triu_(Tk - Tq + 1);
  return torch::matmul(torch::softmax(att.masked_fill(hidden, -INFINITY), -1), v);
}

torch::Tensor textbook_rms_norm(const torch::Tensor& x, const torch::Tensor& w) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + 1e-5) * w;
}

double cpu_ms(const std::function<void()>& f) {
  const std::clock_t start = std::clock();
  f();
  return 1000.0 * static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 200;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--iters") == 0) iters = std::stoi(argv[i + 1]);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  const int64_t B = 16, H = 4, T = 128, D = 32, C = H * D;
  auto rope = rope_tables(0, T, D, 10000.0, torch::kCPU);
  // (B, H, T, D) heads as the model makes them: transposed views of a (B, T, H D) projection
  auto heads = [&] { return torch::randn({B, T, H, D}).transpose(1, 2).requires_grad_(true); };
  auto q = heads(), k = heads(), v = heads();
  auto gy = torch::randn({B, H, T, D});
  Norm norm(NormOptions{C, /*rms=*/true, 1e-5, false});
  auto w = norm->named_parameters()["weight"];
  auto x = torch::randn({B, T, C}).requires_grad_(true), gx = torch::randn({B, T, C});
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"rope, textbook", [&] { textbook_rope(q, rope).backward(gy); }},
      {"rope, lmlab", [&] { apply_rope(q, rope).backward(gy); }},
      {"rope q, k + attention, textbook",
       [&] { textbook_attention(textbook_rope(q, rope), textbook_rope(k, rope), v).backward(gy); }},
      {"rope q, k + attention, lmlab",
       [&] { causal_attention_explicit(apply_rope(q, rope), apply_rope(k, rope), v, 0.0).backward(gy); }},
      {"rmsnorm, textbook", [&] { textbook_rms_norm(x, w).backward(gx); }},
      {"rmsnorm, lmlab", [&] { norm(x).backward(gx); }},
  };
  std::vector<std::vector<double>> ms(cases.size());
  for (const auto& c : cases) c.second();  // warm-up: allocator, OpenBLAS buffers
  for (int i = 0; i < iters; ++i)
    for (size_t j = 0; j < cases.size(); ++j) ms[j].push_back(cpu_ms(cases[j].second));
  std::printf("forward + backward, CPU ms per call, %d calls each, alternating (B %ld, T %ld, H %ld, D %ld)\n", iters,
              static_cast<long>(B), static_cast<long>(T), static_cast<long>(H), static_cast<long>(D));
  for (size_t j = 0; j < cases.size(); ++j) {
    auto s = ms[j];
    std::sort(s.begin(), s.end());
    std::printf("%-34s median %7.3f  p10 %7.3f  p90 %7.3f\n", cases[j].first.c_str(), s[s.size() / 2],
                s[s.size() / 10], s[s.size() * 9 / 10]);
  }
  return 0;
}
