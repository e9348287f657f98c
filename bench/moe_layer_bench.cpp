// Forward+backward time of one MoE layer against a dense SwiGLU FFN with the same active
// FLOPs per token, for every MoE variant (issue #5 performance target: >= 0.7x the dense
// throughput at 8 experts, top-2, d = 768, 16k tokens, bf16 on the GPU).
//   moe_layer_bench [--device auto|cpu|cuda] [--dtype bf16|fp32] [--tokens N] [--d D]
//                   [--experts E] [--top-k K] [--expert-hidden H] [--iters I] [--warmup W]
// GPU setting: moe_layer_bench --device cuda --dtype bf16 --tokens 16384 --d 768 --experts 8 --top-k 2
// Prints one line per variant: active FLOPs/token of both, ms per fwd+bwd, dense/variant ratio.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "lmlab/model/moe/factory.h"
#include "lmlab/model/moe/moe_common.h"

#include <torch/cuda.h>

using lmlab::ModelConfig;
using lmlab::model::FfnBlockImpl;
using lmlab::model::FfnContext;

namespace {

struct Args {
  std::string device = "auto", dtype = "";
  int64_t tokens = 2048, d = 128, experts = 8, top_k = 2, expert_hidden = 0, iters = 5, warmup = 2;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--device") a.device = v;
    else if (k == "--dtype") a.dtype = v;
    else if (k == "--tokens") a.tokens = std::stoll(v);
    else if (k == "--d") a.d = std::stoll(v);
    else if (k == "--experts") a.experts = std::stoll(v);
    else if (k == "--top-k") a.top_k = std::stoll(v);
    else if (k == "--expert-hidden") a.expert_hidden = std::stoll(v);
    else if (k == "--iters") a.iters = std::stoll(v);
    else if (k == "--warmup") a.warmup = std::stoll(v);
    else {
      std::fprintf(stderr, "moe_layer_bench: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.expert_hidden == 0) a.expert_hidden = 4 * a.d;
  return a;
}

void sync(const torch::Device& dev) {
  if (dev.is_cuda()) torch::cuda::synchronize();
}

// Milliseconds per forward+backward of fn on x, averaged over a.iters after a.warmup.
template <class Fn>
double time_ms(Fn fn, const torch::Tensor& x, const Args& a, const torch::Device& dev) {
  double total = 0;
  for (int64_t i = 0; i < a.warmup + a.iters; ++i) {
    sync(dev);
    auto start = std::chrono::steady_clock::now();
    fn(x).to(torch::kFloat).pow(2).mean().backward();
    sync(dev);
    if (i >= a.warmup) total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  return total / static_cast<double>(a.iters);
}

struct Variant {
  std::string name, type;
  std::function<void(lmlab::FfnConfig&)> set;
};

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  bool cuda = torch::cuda::is_available() && a.device != "cpu";
  if (a.device == "cuda" && !torch::cuda::is_available()) {
    std::fprintf(stderr, "moe_layer_bench: no CUDA device\n");
    return 2;
  }
  torch::Device dev = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (a.dtype.empty()) a.dtype = cuda ? "bf16" : "fp32";
  auto dtype = a.dtype == "bf16" ? torch::kBFloat16 : torch::kFloat;
  const int64_t E = a.experts, k = a.top_k, H = a.expert_hidden;

  std::vector<Variant> variants = {
      {"switch top-1", "moe", [&](lmlab::FfnConfig& f) { f.top_k = 1; }},
      {"gshard top-k", "moe", [](lmlab::FfnConfig&) {}},
      {"top-k + shared (sum)", "moe", [](lmlab::FfnConfig& f) { f.n_shared = 1; }},
      {"fine-grained 2E x H/2", "moe", [&](lmlab::FfnConfig& f) { f.n_experts = 2 * E; f.top_k = 2 * k; f.expert_hidden = H / 2; }},
      {"hash", "hash_moe", [](lmlab::FfnConfig&) {}},
      {"top-p 0.4", "topp_moe", [](lmlab::FfnConfig&) {}},
      {"maskmoe", "mask_moe", [](lmlab::FfnConfig&) {}},
      {"cartesian 2 x (E x H/2)", "cartesian_moe", [&](lmlab::FfnConfig& f) { f.expert_hidden = H / 2; }},
      {"dsmoe (dense k*H, n=8)", "dsmoe", [&](lmlab::FfnConfig& f) { f.hidden = k * H; }},
      {"finedeep 2 x 4 (dense k*H)", "finedeep", [&](lmlab::FfnConfig& f) { f.hidden = k * H; }},
  };

  std::printf("device %s, dtype %s, tokens %ld, d %ld, experts %ld, top-k %ld, expert hidden %ld\n",
              cuda ? "cuda" : "cpu", a.dtype.c_str(), (long)a.tokens, (long)a.d, (long)E, (long)k, (long)H);
  std::printf("%-28s %14s %14s %10s %10s %8s\n", "variant", "flops/tok", "dense f/tok", "ms", "dense ms", "ratio");
  torch::manual_seed(0);
  auto x = torch::randn({1, a.tokens, a.d}, torch::TensorOptions().device(dev).dtype(dtype)).requires_grad_(true);
  FfnContext ctx{torch::randint(0, 1000, {1, a.tokens}, torch::TensorOptions().device(dev).dtype(torch::kLong)), 0};
  for (const auto& v : variants) {
    ModelConfig cfg;
    cfg.d_model = a.d;
    cfg.n_layer = 1;
    cfg.vocab_size = 1000;
    cfg.ffn.type = v.type;
    cfg.ffn.n_experts = E;
    cfg.ffn.top_k = k;
    cfg.ffn.expert_hidden = H;
    cfg.ffn.hidden = H;
    v.set(cfg.ffn);
    auto block = lmlab::model::moe::make_moe_block(v.type, cfg, 0);
    block->to(dev);
    block->to(dtype);
    // Dense SwiGLU with the block's active FLOPs per token.
    int64_t dense_h = std::max<int64_t>(1, static_cast<int64_t>(block->flops_per_token() / (6.0 * static_cast<double>(a.d)) + 0.5));
    lmlab::model::moe::ExpertBank dense(1, a.d, dense_h);
    dense->to(dev);
    dense->to(dtype);
    double dense_flops = 6.0 * static_cast<double>(a.d * dense_h);
    double t_block = time_ms([&](const torch::Tensor& in) { return block->forward(in, ctx); }, x, a, dev);
    double t_dense = time_ms([&](const torch::Tensor& in) { return dense->expert(0, in.view({-1, a.d})); }, x, a, dev);
    std::printf("%-28s %14.0f %14.0f %10.2f %10.2f %8.2f\n", v.name.c_str(), block->flops_per_token(), dense_flops,
                t_block, t_dense, t_dense / t_block);
    std::fflush(stdout);
  }

  // DSMoE's inference saving: eval mode skips experts whose gate is under tau.
  ModelConfig cfg;
  cfg.d_model = a.d;
  cfg.n_layer = 1;
  cfg.ffn.hidden = k * H;
  auto ds = lmlab::model::moe::make_moe_block("dsmoe", cfg, 0);
  ds->to(dev);
  ds->to(dtype);
  torch::NoGradGuard no_grad;
  auto forward_ms = [&](bool train) {
    ds->train(train);
    double total = 0;
    for (int64_t i = 0; i < a.warmup + a.iters; ++i) {
      sync(dev);
      auto start = std::chrono::steady_clock::now();
      ds->forward(x, ctx);
      sync(dev);
      if (i >= a.warmup) total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return total / static_cast<double>(a.iters);
  };
  double all_experts = forward_ms(true), skipping = forward_ms(false);
  std::printf("dsmoe inference: active share %.3f, forward %.2f ms (skip under tau) vs %.2f ms (all experts)\n",
              ds->stats()["active_share"].get<double>(), skipping, all_experts);
  return 0;
}
