// Inference throughput of adapted ViTs side by side (docs/pyra.md): each variant is a run
// directory of task "adapt" (or "classify" with a ViT); its backbone is rebuilt from the
// checkpoint's config, weights loaded, LoRA merged into qkv, then timed on batches of random
// images (the cost of ToMe does not depend on the pixels: the token counts are fixed by the
// schedule). Variants are timed round-robin, `rounds` times, and the median is reported.
//   pyra_bench [--threads 2] [--batch 256] [--iters 4] [--rounds 5] [--json out.json] NAME=RUN_DIR ...
// Prints one row per variant: images/s, speed-up over the first variant, tokens per layer.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/model/vit.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/experiment.h"
#include "lmlab/train/model_state.h"

namespace {

struct Variant {
  std::string name, dir;
  lmlab::model::Vit vit{nullptr};
  std::vector<double> rates;  // images/s per round
};

// The run's backbone with its trained weights ("backbone." names of the task module).
lmlab::model::Vit load_backbone(const std::string& dir) {
  const std::string ckpt = lmlab::train::resolve_checkpoint(dir);
  lmlab::train::CheckpointData data = lmlab::train::read_checkpoint(ckpt);
  lmlab::Experiment exp;
  lmlab::config::Schema schema = lmlab::config::Schema::of(exp);
  lmlab::config::apply_toml_text(schema, data.config_toml, ckpt + "/config.toml");
  if (exp.model.family != "vit") throw lmlab::UserError(dir + ": [model] family is not vit");
  lmlab::model::Vit vit(exp.model);
  lmlab::model::NamedTensors state;
  const std::string prefix = "backbone.";
  for (auto& [name, t] : data.model)
    if (name.rfind(prefix, 0) == 0) state.emplace_back(name.substr(prefix.size()), t);
  lmlab::train::load_model_state_partial(*vit, state, ckpt + "/model.safetensors");
  vit->merge_lora();
  vit->eval();
  return vit;
}

double images_per_second(lmlab::model::Vit& vit, const torch::Tensor& images, int64_t iters) {
  torch::NoGradGuard no_grad;
  auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iters; ++i) vit->tokens(images);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(iters * images.size(0)) / s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int run(int argc, char** argv) {
  int64_t threads = 2, batch = 256, iters = 4, rounds = 5;
  std::string json_out;
  std::vector<Variant> variants;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw lmlab::UserError("pyra_bench: " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads") threads = std::stoll(value());
    else if (a == "--batch") batch = std::stoll(value());
    else if (a == "--iters") iters = std::stoll(value());
    else if (a == "--rounds") rounds = std::stoll(value());
    else if (a == "--json") json_out = value();
    else if (a.find('=') != std::string::npos) {
      Variant v;
      v.name = a.substr(0, a.find('='));
      v.dir = a.substr(a.find('=') + 1);
      variants.push_back(v);
    }
    else throw lmlab::UserError("pyra_bench: unknown argument '" + a + "' (NAME=RUN_DIR, --threads, --batch, --iters, --rounds, --json)");
  }
  if (variants.empty()) throw lmlab::UserError("pyra_bench: give at least one NAME=RUN_DIR");
  torch::set_num_threads(static_cast<int>(threads));
  for (auto& v : variants) v.vit = load_backbone(v.dir);
  for (int64_t r = 0; r <= rounds; ++r)  // round 0 warms up
    for (auto& v : variants) {
      const auto& c = v.vit->config();
      torch::manual_seed(static_cast<uint64_t>(r));
      auto images = torch::rand({batch, c.image.channels, c.image.size, c.image.size});
      double rate = images_per_second(v.vit, images, iters);
      if (r > 0) v.rates.push_back(rate);
    }
  std::printf("pyra_bench: batch inference, CPU, %lld threads, batch %lld, %lld iters x %lld rounds (median)\n",
              static_cast<long long>(threads), static_cast<long long>(batch), static_cast<long long>(iters),
              static_cast<long long>(rounds));
  std::printf("%-16s %12s %8s  %s\n", "variant", "images/s", "speedup", "tokens entering each layer -> final");
  nlohmann::json out = {{"threads", threads}, {"batch", batch}, {"iters", iters}, {"rounds", rounds},
                        {"variants", nlohmann::json::object()}};
  const double base = median(variants[0].rates);
  for (auto& v : variants) {
    const double m = median(v.rates);
    std::string tokens;
    for (int64_t t : v.vit->token_counts()) tokens += (tokens.empty() ? "" : " ") + std::to_string(t);
    std::printf("%-16s %12.1f %7.2fx  %s\n", v.name.c_str(), m, m / base, tokens.c_str());
    out["variants"][v.name] = {{"images_per_s", m}, {"speedup", m / base}, {"rounds", v.rates},
                               {"tokens", v.vit->token_counts()}, {"run", v.dir}};
  }
  if (!json_out.empty()) lmlab::write_file_atomic(json_out, out.dump(2) + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const lmlab::UserError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
