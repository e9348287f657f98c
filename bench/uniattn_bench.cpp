// Inference cost of UniAttn against its baselines, side by side in one run (docs/uniattn.md):
// for each checkpoint, prefill time of a prompt, greedy decode tokens/s with the KV cache, and
// the KV-cache bytes per token actually held; a UniAttn checkpoint is measured twice, skipping
// (ours) and as released (model.attention.skip_reused=false: wq, wk, the K cache, QK^T and
// softmax still run in reusing layers).
//   uniattn_bench --run NAME=DIR [--run ...] [--prompt 128] [--new 64] [--batch 1]
//                 [--repeats 3] [--threads N] [--json-dir D]
// Prints one table row per variant (NAME, and NAME-released for a UniAttn checkpoint) and, with
// --json-dir, writes D/<variant>.json: {prefill_ms, decode_tokens_per_s, kv_bytes_per_token, params}.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "lmlab/model/transformer.h"
#include "lmlab/train/checkpoint.h"

namespace {

struct Args {
  std::vector<std::pair<std::string, std::string>> runs;  // name, checkpoint
  int64_t prompt = 128, new_tokens = 64, batch = 1, repeats = 3, threads = 0;
  std::string json_dir;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--run" && v.find('=') != std::string::npos) a.runs.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
    else if (k == "--prompt") a.prompt = std::stoll(v);
    else if (k == "--new") a.new_tokens = std::stoll(v);
    else if (k == "--batch") a.batch = std::stoll(v);
    else if (k == "--repeats") a.repeats = std::stoll(v);
    else if (k == "--threads") a.threads = std::stoll(v);
    else if (k == "--json-dir") a.json_dir = v;
    else {
      std::fprintf(stderr, "uniattn_bench: unknown option %s (see the header of bench/uniattn_bench.cpp)\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.runs.empty()) {
    std::fprintf(stderr, "uniattn_bench: give at least one --run NAME=CHECKPOINT\n");
    std::exit(2);
  }
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Measure {
  double prefill_ms = 0, decode_tokens_per_s = 0, kv_bytes_per_token = 0;
  int64_t params = 0;
};

int64_t cache_bytes(const lmlab::model::KVCache& c) {
  int64_t n = 0;
  for (const auto* side : {&c.k, &c.v})
    for (const auto& t : *side)
      if (t.defined()) n += t.numel() * static_cast<int64_t>(t.element_size());
  return n;
}

// Best of `repeats` (prefill, decode) on the same random prompt.
Measure measure(lmlab::model::TransformerImpl& m, const Args& a) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  auto prompt = torch::randint(0, m.config().vocab_size, {a.batch, a.prompt}, torch::kInt64);
  Measure best;
  best.params = m.total_params();
  for (int64_t r = 0; r < a.repeats; ++r) {
    lmlab::model::KVCache cache;
    auto t0 = std::chrono::steady_clock::now();
    auto logits = m.forward_cached(prompt, cache);
    const double prefill = seconds_since(t0) * 1e3;
    auto next = logits.select(1, -1).argmax(-1, /*keepdim=*/true);  // (B, 1)
    t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < a.new_tokens; ++i) next = m.forward_cached(next, cache).select(1, -1).argmax(-1, true);
    const double rate = static_cast<double>(a.new_tokens * a.batch) / seconds_since(t0);
    if (r == 0 || prefill < best.prefill_ms) best.prefill_ms = prefill;
    if (rate > best.decode_tokens_per_s) best.decode_tokens_per_s = rate;
    best.kv_bytes_per_token = static_cast<double>(cache_bytes(cache)) / static_cast<double>(a.batch * cache.length());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.threads > 0) torch::set_num_threads(static_cast<int>(a.threads));
  std::printf("uniattn_bench: prompt %lld, %lld new tokens, batch %lld, best of %lld, %d threads, CPU\n",
              static_cast<long long>(a.prompt), static_cast<long long>(a.new_tokens), static_cast<long long>(a.batch),
              static_cast<long long>(a.repeats), torch::get_num_threads());
  std::printf("%-22s %12s %16s %14s %10s\n", "variant", "prefill ms", "decode tok/s", "KV bytes/tok", "params");
  for (const auto& [name, dir] : a.runs) {
    auto m = lmlab::train::load_for_inference(dir, torch::kCPU);
    std::vector<std::pair<std::string, std::vector<std::string>>> modes = {{name, {}}};
    if (m.exp.model.attention.compensation && m.exp.model.attention.unify_group > 1)
      modes.push_back({name + "-released", {"model.attention.skip_reused=false"}});
    for (const auto& [label, overrides] : modes) {
      auto model = overrides.empty() ? m.model : lmlab::train::load_for_inference(dir, torch::kCPU, overrides).model;
      Measure r = measure(*model, a);
      std::printf("%-22s %12.2f %16.1f %14.0f %10lld\n", label.c_str(), r.prefill_ms, r.decode_tokens_per_s,
                  r.kv_bytes_per_token, static_cast<long long>(r.params));
      if (!a.json_dir.empty())
        std::ofstream(a.json_dir + "/" + label + ".json")
            << "{\"prefill_ms\": " << r.prefill_ms << ", \"decode_tokens_per_s\": " << r.decode_tokens_per_s
            << ", \"kv_bytes_per_token\": " << r.kv_bytes_per_token << ", \"params\": " << r.params << "}\n";
    }
  }
  return 0;
}
