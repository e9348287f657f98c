// Forward+backward of the dropless expert dispatch against the number of experts E, with the
// expert weights indexed once per expert call (before: w_gate[e], whose backward allocates a
// zero tensor the size of the whole bank per call, so O(E^2) bytes) and sliced once per
// forward (after: ExpertBankImpl::slices, one stacked gradient). Interleaved, same routing.
//   expert_backward_bench [--tokens N] [--d D] [--hidden H] [--top-k K] [--iters I]
// Prints one row per E = 8, 16, 32, 64: ms per fwd+bwd before and after, and before/after.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "lmlab/model/moe/dispatch.h"
#include "lmlab/model/moe/moe_common.h"

using lmlab::model::moe::ExpertBank;
using lmlab::model::moe::ExpertBankImpl;

namespace {

struct Args {
  int64_t tokens = 2048, d = 64, hidden = 128, top_k = 2, iters = 5;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int64_t v = std::stoll(argv[i + 1]);
    if (k == "--tokens") a.tokens = v;
    else if (k == "--d") a.d = v;
    else if (k == "--hidden") a.hidden = v;
    else if (k == "--top-k") a.top_k = v;
    else if (k == "--iters") a.iters = v;
    else {
      std::fprintf(stderr, "expert_backward_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  torch::manual_seed(0);
  std::printf("tokens %lld  d %lld  hidden %lld  top-k %lld  threads %d\n", static_cast<long long>(a.tokens),
              static_cast<long long>(a.d), static_cast<long long>(a.hidden), static_cast<long long>(a.top_k),
              torch::get_num_threads());
  std::printf("%8s %14s %14s %10s\n", "experts", "before_ms", "after_ms", "speedup");
  for (int64_t E : {8, 16, 32, 64}) {
    ExpertBank bank(E, a.d, a.hidden);
    auto x = torch::randn({a.tokens, a.d});
    auto experts = std::get<1>(torch::rand({a.tokens, E}).topk(a.top_k, 1));  // (N, k) distinct experts
    auto weights = torch::full({a.tokens, a.top_k}, 1.0 / static_cast<double>(a.top_k));
    auto before = [&] {
      return lmlab::model::moe::dispatch_combine(x, experts, weights, E,
                                                 [&](int64_t e, const torch::Tensor& xe) { return bank->expert(e, xe); });
    };
    auto after = [&] {
      const auto w = bank->slices();
      return lmlab::model::moe::dispatch_combine(
          x, experts, weights, E, [&w](int64_t e, const torch::Tensor& xe) { return ExpertBankImpl::expert(w, e, xe); });
    };
    double t_before = 0, t_after = 0;
    for (int64_t i = 0; i < a.iters + 1; ++i) {  // the first round warms up
      auto t0 = std::chrono::steady_clock::now();
      before().pow(2).mean().backward();
      double b = ms_since(t0);
      t0 = std::chrono::steady_clock::now();
      after().pow(2).mean().backward();
      double f = ms_since(t0);
      if (i > 0) t_before += b, t_after += f;
    }
    t_before /= static_cast<double>(a.iters);
    t_after /= static_cast<double>(a.iters);
    std::printf("%8lld %14.2f %14.2f %9.2fx\n", static_cast<long long>(E), t_before, t_after, t_before / t_after);
  }
  return 0;
}
