// c10d process group setup (TCPStore rendezvous + Gloo/NCCL) and the collectives the trainer uses.
#include "lmlab/train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LMLAB_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <c10/macros/cmake_macros.h>
#include <torch/version.h>
#ifdef C10_USE_GLOG  // Debian's libtorch logs through glog; PyTorch's wheels do not
#include <glog/logging.h>
#endif

#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

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

std::string rendezvous_name(const RankInfo& info) {
  return "data-parallel rank " + std::to_string(info.rank) + " of " + std::to_string(info.world_size) +
         ": rendezvous at " + info.master_addr + ":" + std::to_string(info.master_port);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// While alive, libtorch's own log lines below FATAL are not printed (glog builds only).
struct QuietLibtorchLog {
#ifdef C10_USE_GLOG
  const int saved = FLAGS_minloglevel;
  QuietLibtorchLog() { FLAGS_minloglevel = google::GLOG_FATAL; }
  ~QuietLibtorchLog() { FLAGS_minloglevel = saved; }
#endif
};

// Polls `done` every 10 ms for at most `timeout`; whether it became true.
bool wait_until(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Every rank marks itself joined, then waits until all have, for at most `timeout`: a rank that
// never started or died before joining is named, on every rank that did join.
void wait_for_all_ranks(c10d::Store& store, const RankInfo& info, std::chrono::milliseconds timeout) {
  store.set("joined/" + std::to_string(info.rank), std::vector<uint8_t>{1});
  std::string missing;
  const bool all = wait_until(timeout, [&] {
    missing.clear();
    for (int64_t r = 0; r < info.world_size; ++r)
      if (!store.check({"joined/" + std::to_string(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    return missing.empty();
  });
  if (!all)
    throw UserError(rendezvous_name(info) + ": rank " + missing + " did not join within " +
                    std::to_string(timeout.count() / 1000) +
                    " s (not started, or it died; every rank needs the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE)");
}

}  // namespace

std::string first_toml_difference(const std::string& mine, const std::string& theirs) {
  std::istringstream a(mine), b(theirs);
  std::string la, lb, section;
  auto key_of = [](const std::string& line) { return line.substr(0, line.find(" = ")); };
  for (int64_t line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la)), more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "";
    if (more_a && more_b && la == lb) {
      if (!la.empty() && la.front() == '[') section = la.substr(1, la.find(']') - 1) + ".";
      continue;
    }
    if (more_a && more_b && la.find(" = ") != std::string::npos && key_of(la) == key_of(lb))
      return section + key_of(la) + " is " + la.substr(la.find(" = ") + 3) + " here but " + lb.substr(lb.find(" = ") + 3);
    return "line " + std::to_string(line) + " is '" + (more_a ? la : "") + "' here but '" + (more_b ? lb : "") + "'";
  }
}

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
  c10::intrusive_ptr<c10d::Store> store, lmlab_store;  // the rendezvous, and its "lmlab" keys
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
  // The ranks are counted by wait_for_all_ranks below, which can name the missing one; the
  // store's own wait can only time out (and would add its timeout to the process group's).
  opts.waitWorkers = false;
  opts.timeout = timeout;
  try {
    QuietLibtorchLog quiet;  // its socket layer logs the connect timeout that the error below says
    group_->store = open_store(info.master_addr, opts);
  } catch (const std::exception& e) {
    throw UserError(rendezvous_name(info) + ": " +
                    (info.rank == 0 && !info.agent_store ? "cannot serve the store" : "rank 0's store did not answer within " +
                                                                                           std::to_string(timeout.count() / 1000) + " s") +
                    " (" + first_line(e.what()) + ")");
  }
  if (info.agent_store)
    group_->store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(info.restart_count),
                                                           group_->store);
  auto store = c10::make_intrusive<c10d::PrefixStore>("lmlab", group_->store);
  group_->lmlab_store = store;
  wait_for_all_ranks(*store, info, timeout);
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

void Distributed::check_same(const std::string& what, const std::string& text) {
  if (!group_) return;
  c10d::Store& store = *group_->lmlab_store;
  const std::string prefix = "same/" + what + "/";
  store.set(prefix + std::to_string(info_.rank), std::vector<uint8_t>(text.begin(), text.end()));
  std::string difference;
  int64_t other = -1;
  for (int64_t r = 0; r < info_.world_size && difference.empty(); ++r) {
    if (r == info_.rank) continue;
    std::vector<uint8_t> theirs;
    run("rendezvous", [&] { theirs = store.get(prefix + std::to_string(r)); });
    difference = first_toml_difference(text, std::string(theirs.begin(), theirs.end()));
    other = r;
  }
  // No rank leaves before all have read: rank 0's exit would take the store with it.
  store.add(prefix + "read", 1);
  wait_until(group_->timeout, [&] { return store.add(prefix + "read", 0) >= info_.world_size; });
  if (!difference.empty())
    throw UserError("data-parallel rank " + std::to_string(info_.rank) + ": the " + what + " differs from rank " +
                    std::to_string(other) + "'s: " + difference + " on rank " + std::to_string(other) +
                    " (every rank must train the same run)");
}

void Distributed::barrier() {
  if (!group_) return;
  run("barrier", [&] { group_->barrier()->wait(group_->timeout); });
}

}  // namespace lmlab::train
