// c10d process group setup (TCPStore rendezvous + Gloo/NCCL) and the collectives the trainer uses.
#include "lmlab/train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LMLAB_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <torch/version.h>

#include <cstdlib>

#include "lmlab/common/error.h"

namespace lmlab::train {

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < 0) throw UserError(std::string("environment variable ") + name + "='" + v + "' is not a non-negative integer");
  return x;
}

// PyTorch 2.4+ serves the store with libuv by default, which a build without libuv (Debian's
// 2.6) refuses ("use_libuv was requested but PyTorch was build without libuv support"): such a
// build gets the classic server.
c10::intrusive_ptr<c10d::TCPStore> open_store(const std::string& addr, c10d::TCPStoreOptions opts) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  try {
    return c10::make_intrusive<c10d::TCPStore>(addr, opts);
  } catch (const std::exception& e) {
    if (!opts.useLibUV || std::string(e.what()).find("libuv") == std::string::npos) throw;
    opts.useLibUV = false;
  }
#endif
  return c10::make_intrusive<c10d::TCPStore>(addr, opts);
}

}  // namespace

RankInfo rank_info_from_env() {
  RankInfo r;
  r.world_size = env_int("WORLD_SIZE", 1);
  r.rank = env_int("RANK", 0);
  r.local_rank = env_int("LOCAL_RANK", r.rank);
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) r.master_addr = a;
  r.master_port = env_int("MASTER_PORT", 29500);
  if (const char* a = std::getenv("TORCHELASTIC_USE_AGENT_STORE"); a && std::string(a) == "True") {
    r.agent_store = true;
    r.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0);
  }
  if (r.world_size < 1 || r.rank >= r.world_size)
    throw UserError("RANK=" + std::to_string(r.rank) + " must be below WORLD_SIZE=" + std::to_string(r.world_size));
  if (r.master_port < 1 || r.master_port > 65535) throw UserError("MASTER_PORT=" + std::to_string(r.master_port) + " is not a port");
  return r;
}

// The backend's collectives, as functions so Gloo (a ProcessGroup in 1.13, a Backend in 2.x)
// and NCCL are driven the same way.
struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store;
  std::function<c10::intrusive_ptr<c10d::Work>(std::vector<torch::Tensor>&)> allreduce, broadcast;
  std::function<c10::intrusive_ptr<c10d::Work>()> barrier;
  std::chrono::milliseconds timeout;
};

Distributed::Distributed(const RankInfo& info, const torch::Device& device, double timeout_s) : info_(info) {
  if (info.world_size == 1) return;
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  group_ = std::make_unique<Group>();
  group_->timeout = timeout;
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(info.master_port);
  opts.isServer = info.rank == 0 && !info.agent_store;
  opts.numWorkers = static_cast<size_t>(info.world_size);
  opts.waitWorkers = !info.agent_store;  // the agent's store does not count our ranks
  opts.timeout = timeout;
  try {
    group_->store = open_store(info.master_addr, opts);
  } catch (const std::exception& e) {
    throw std::runtime_error("data-parallel rank " + std::to_string(info.rank) + ": rendezvous at " +
                             info.master_addr + ":" + std::to_string(info.master_port) + " failed: " + e.what());
  }
  if (info.agent_store)
    group_->store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(info.restart_count),
                                                           group_->store);
  auto store = c10::make_intrusive<c10d::PrefixStore>("lmlab", group_->store);
  const int rank = static_cast<int>(info.rank), size = static_cast<int>(info.world_size);
  if (device.is_cuda()) {
#ifdef LMLAB_HAVE_NCCL
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, c10d::ProcessGroupNCCL::Options::create());
    group_->allreduce = [pg](std::vector<torch::Tensor>& t) { return pg->allreduce(t); };
    group_->broadcast = [pg](std::vector<torch::Tensor>& t) { return pg->broadcast(t); };
    group_->barrier = [pg] { return pg->barrier(); };
    backend_ = "nccl";
    return;
#endif
  }
  auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
  const bool loopback = info.master_addr == "127.0.0.1" || info.master_addr == "localhost";
  gloo->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
  auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo);
  group_->allreduce = [pg](std::vector<torch::Tensor>& t) { return pg->allreduce(t); };
  group_->broadcast = [pg](std::vector<torch::Tensor>& t) { return pg->broadcast(t); };
  group_->barrier = [pg] { return pg->barrier(); };
  backend_ = "gloo";
}

Distributed::~Distributed() = default;

void Distributed::run(const char* what, const std::function<void()>& collective) {
  try {
    collective();
  } catch (const std::exception& e) {
    throw std::runtime_error("data-parallel rank " + std::to_string(info_.rank) + ": " + what +
                             " failed (a peer rank died or did not answer within " +
                             std::to_string(group_->timeout.count() / 1000) + " s): " + e.what());
  }
}

void Distributed::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  if (!group_) return;
  // One collective per tensor: a c10d call with several tensors means one per device.
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one = {t};
    run("all-reduce", [&] { group_->allreduce(one)->wait(group_->timeout); });
  }
}

void Distributed::average_gradients(const std::vector<torch::Tensor>& params) {
  if (!group_) return;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return;
  std::vector<torch::Tensor> pieces;
  for (const auto& g : grads) pieces.push_back(g.reshape({-1}));
  std::vector<torch::Tensor> flat = {torch::cat(pieces)};
  all_reduce_sum(flat);
  flat[0].div_(static_cast<double>(info_.world_size));
  int64_t offset = 0;
  for (auto& g : grads) {
    g.copy_(flat[0].narrow(0, offset, g.numel()).view_as(g));
    offset += g.numel();
  }
}

torch::Tensor Distributed::mean(const torch::Tensor& scalar) {
  if (!group_) return scalar;
  std::vector<torch::Tensor> t = {scalar.detach().clone().reshape({1})};
  all_reduce_sum(t);
  return t[0].reshape({}) / static_cast<double>(info_.world_size);
}

void Distributed::broadcast(std::vector<torch::Tensor>& tensors) {
  if (!group_) return;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one = {t};
    run("broadcast", [&] { group_->broadcast(one)->wait(group_->timeout); });
  }
}

void Distributed::barrier() {
  if (!group_) return;
  run("barrier", [&] { group_->barrier()->wait(group_->timeout); });
}

}  // namespace lmlab::train
