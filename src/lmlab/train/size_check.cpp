// Training size estimate and the check against the machine's memory (size_check.h).
#include "lmlab/train/size_check.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/train/param_count.h"

// The device's memory is asked from CUDA only in a CUDA build of libtorch (LMLAB_WITH_CUDA,
// cmake/Dependencies.cmake) whose headers are there; a CPU build (Debian's libtorch 1.13) checks
// against host memory only.
#if defined(LMLAB_WITH_CUDA) && __has_include(<ATen/cuda/CUDAContext.h>)
#define LMLAB_SIZE_CHECK_CUDA 1
#include <ATen/cuda/CUDAContext.h>
#include <torch/cuda.h>
#else
#define LMLAB_SIZE_CHECK_CUDA 0
#endif

namespace lmlab::train {

namespace {

// The FFN parameters of one block and its hidden width per token (the active experts' sum).
std::pair<double, double> ffn_size(const ModelConfig& m) {
  const auto& f = m.ffn;
  const double d = static_cast<double>(m.d_model);
  const double hidden = f.hidden > 0 ? static_cast<double>(f.hidden) : 4 * d;
  const double expert = f.expert_hidden > 0 ? static_cast<double>(f.expert_hidden) : hidden;
  const double shared = f.shared_hidden > 0 ? static_cast<double>(f.shared_hidden) : expert;
  if (f.type == "dense" || f.type == "dsmoe" || f.type == "finedeep")  // one hidden layer, split or not
    return {2 * 3 * d * hidden, 2 * hidden};
  const double experts = static_cast<double>(f.n_experts), k = static_cast<double>(std::max<int64_t>(f.top_k, 1));
  const double n_shared = static_cast<double>(f.n_shared);
  const double sub_layers = f.type == "cartesian_moe" ? 2 : 1;  // two routed sub-layers in sequence
  return {sub_layers * (experts * 3 * d * expert + n_shared * 3 * d * shared + d * (experts + 1)),
          sub_layers * (k * expert + n_shared * shared)};
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (b >= 1024 && u < 6) b /= 1024, ++u;
  char out[32];
  std::snprintf(out, sizeof out, "%.1f %s", b, units[u]);
  return out;
}

double physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0;
}

#if LMLAB_SIZE_CHECK_CUDA
// The rank's device as pick_device chooses it: LOCAL_RANK (else RANK) modulo the device count.
int64_t local_device() {
  const char* v = std::getenv("LOCAL_RANK");
  if (!v || !*v) v = std::getenv("RANK");
  const int64_t rank = v && *v ? std::max<int64_t>(std::atoll(v), 0) : 0;
  return rank % std::max<int64_t>(static_cast<int64_t>(torch::cuda::device_count()), 1);
}
#endif

// The keys that set the estimate, each with a way to put it back to its default.
struct SizeKey {
  const char* name;
  std::function<int64_t&(Experiment&)> field;
};

const std::vector<SizeKey>& size_keys() {
  static const std::vector<SizeKey> keys = {
      {"model.n_layer", [](Experiment& e) -> int64_t& { return e.model.n_layer; }},
      {"model.d_model", [](Experiment& e) -> int64_t& { return e.model.d_model; }},
      {"model.n_head", [](Experiment& e) -> int64_t& { return e.model.n_head; }},
      {"model.vocab_size", [](Experiment& e) -> int64_t& { return e.model.vocab_size; }},
      {"model.max_seq_len", [](Experiment& e) -> int64_t& { return e.model.max_seq_len; }},
      {"model.ffn.hidden", [](Experiment& e) -> int64_t& { return e.model.ffn.hidden; }},
      {"model.ffn.expert_hidden", [](Experiment& e) -> int64_t& { return e.model.ffn.expert_hidden; }},
      {"model.ffn.n_experts", [](Experiment& e) -> int64_t& { return e.model.ffn.n_experts; }},
      {"model.ffn.top_k", [](Experiment& e) -> int64_t& { return e.model.ffn.top_k; }},
      {"model.ffn.n_shared", [](Experiment& e) -> int64_t& { return e.model.ffn.n_shared; }},
      {"model.ffn.shared_hidden", [](Experiment& e) -> int64_t& { return e.model.ffn.shared_hidden; }},
      {"train.batch_size", [](Experiment& e) -> int64_t& { return e.train.batch_size; }},
      {"data.seq_len", [](Experiment& e) -> int64_t& { return e.data.seq_len; }},
  };
  return keys;
}

}  // namespace

SizeEstimate estimate_training_size(const Experiment& exp) {
  const auto& m = exp.model;
  if (m.family != "decoder" && m.family != "encoder") return {};
  const double d = static_cast<double>(m.d_model), L = static_cast<double>(m.n_layer);
  const double V = static_cast<double>(m.vocab_size), heads = static_cast<double>(m.n_head);
  const double B = static_cast<double>(exp.train.batch_size), T = static_cast<double>(exp.data.seq_len);
  const auto [ffn_params, ffn_active] = ffn_size(m);
  SizeEstimate s;
  s.params = V * d * (m.tie_embeddings ? 1 : 2) + static_cast<double>(m.max_seq_len) * d + L * (4 * d * d + ffn_params);
  if (m.family == "decoder") {
    try {
      if (auto exact = count_decoder(m, exp.data.seq_len)) s.params = exact->total;
    } catch (const UserError&) {
      // A model its constructor refuses (or vocab_size 0, not yet filled in) keeps the bound;
      // the refusal comes where it is built, with its own line.
    }
  }
  const double activations = 4 * B * T * (L * (16 * d + 2 * heads * T + 3 * ffn_active) + 3 * V);
  s.bytes = 16 * s.params + activations;
  return s;
}

MemoryLimit host_memory(double bytes) {
  if (bytes <= 0) bytes = physical_memory();
  return {bytes, "this machine's " + human_bytes(bytes) + " of memory"};
}

MemoryLimit training_memory(const std::string& device_choice) {
#if LMLAB_SIZE_CHECK_CUDA
  if (device_choice != "cpu" && torch::cuda::is_available()) {
    const int64_t index = local_device();
    const cudaDeviceProp* p = at::cuda::getDeviceProperties(static_cast<int>(index));
    const double bytes = static_cast<double>(p->totalGlobalMem);
    return {bytes, "CUDA device " + std::to_string(index) + "'s " + human_bytes(bytes) + " of device memory (" +
                       std::string(p->name) + ")"};
  }
#else
  (void)device_choice;  // a CPU build trains in host memory whatever it is asked
#endif
  return host_memory();
}

void check_training_size(const Experiment& exp) { check_training_size(exp, training_memory(exp.run.device)); }

void check_training_size(const Experiment& exp, const MemoryLimit& limit) {
  const char* skip = std::getenv("LMLAB_NO_SIZE_CHECK");
  if (skip && std::string(skip) == "1") return;
  const SizeEstimate s = estimate_training_size(exp);
  if (limit.bytes <= 0 || s.bytes <= limit.bytes) return;
  // The key whose default value would shrink the estimate most is the one to fix.
  Experiment defaults, current = exp;
  const char* culprit = size_keys().front().name;
  int64_t value = 0;
  double best = -1;
  for (const SizeKey& key : size_keys()) {
    Experiment reset = exp;
    key.field(reset) = key.field(defaults);
    const double saved = s.bytes - estimate_training_size(reset).bytes;
    if (saved > best) best = saved, culprit = key.name, value = key.field(current);
  }
  throw UserError(std::string(culprit) + " = " + std::to_string(value) + ": training this config needs about " +
                  human_bytes(s.bytes) + " (" + human_bytes(16 * s.params) +
                  " of parameters, gradients and AdamW state, the rest activations), more than " + limit.what +
                  " (LMLAB_NO_SIZE_CHECK=1 tries anyway)");
}

}  // namespace lmlab::train
