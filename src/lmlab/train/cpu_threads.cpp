// The CPU thread plan (why it is what it is: cpu_threads.h).
#include "lmlab/train/cpu_threads.h"

#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "lmlab/common/error.h"

namespace lmlab::train {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// A positive count from an environment variable; nullopt when unset or not a number (libgomp
// and OpenBLAS ignore a malformed value too, so only LMLAB_THREADS, ours, is refused).
std::optional<int> positive(const std::string& s) {
  if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  const int n = std::stoi(s);
  return n >= 1 ? std::optional<int>(n) : std::nullopt;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadEnv read_thread_env() {
  ThreadEnv e;
  e.cores = available_cores();
  e.lmlab_threads = env_or_empty("LMLAB_THREADS");
  e.omp_num_threads = env_or_empty("OMP_NUM_THREADS");
  e.openblas_threads = env_or_empty("OPENBLAS_NUM_THREADS");
  e.omp_wait_policy = env_or_empty("OMP_WAIT_POLICY");
  e.local_world_size = env_or_empty("LOCAL_WORLD_SIZE");
  return e;
}

ThreadPlan plan_threads(const ThreadEnv& env, bool can_reexec) {
  ThreadPlan plan;
  if (!env.lmlab_threads.empty()) {
    const std::optional<int> n = positive(env.lmlab_threads);
    if (!n || *n > 1024)
      throw UserError("LMLAB_THREADS: expected an integer in [1, 1024] (threads per process), got '" +
                      env.lmlab_threads + "'");
    plan.intra_op = *n;
    plan.why = "LMLAB_THREADS=" + env.lmlab_threads;
  } else if (const std::optional<int> omp = positive(env.omp_num_threads)) {
    plan.intra_op = *omp;
    plan.why = "OMP_NUM_THREADS=" + env.omp_num_threads;
  } else {
    const int ranks = positive(env.local_world_size).value_or(1);
    plan.intra_op = std::max(1, env.cores / ranks);
    plan.why = std::to_string(env.cores) + (env.cores == 1 ? " core" : " cores");
    if (ranks > 1) plan.why += " / " + std::to_string(ranks) + " local ranks";
  }
  // OpenBLAS reads OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, at load; one of those set by the
  // user stands, as long as we did not pick a different count ourselves.
  const bool blas_from_env = positive(env.openblas_threads).has_value() ||
                             (env.lmlab_threads.empty() && positive(env.omp_num_threads).has_value());
  plan.blas = blas_from_env ? 0 : plan.intra_op;
  if (plan.intra_op > 1 && upper(env.omp_wait_policy) != "PASSIVE") {
    if (can_reexec) {
      plan.needs_passive_wait = true;
    } else {
      // Without the passive policy two pools on the same cores are slower than one.
      plan.why += ", 1 intra-op thread without OMP_WAIT_POLICY=PASSIVE";
      plan.intra_op = 1;
    }
  }
  return plan;
}

std::string apply_threads(const ThreadPlan& plan) {
  at::set_num_threads(plan.intra_op);
  // OpenBLAS is loaded with libtorch (Debian links it); looked up by name, so a libtorch built
  // on another BLAS just skips this.
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get_blas = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set_blas && plan.blas > 0) set_blas(plan.blas);
  std::string line = "threads: " + std::to_string(at::get_num_threads()) + " intra-op (" + plan.why + ")";
  if (get_blas) line += ", OpenBLAS " + std::to_string(get_blas());
  return line;
}

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

void reexec_for_threads() {
  if (!env_or_empty("LMLAB_THREADS_REEXEC").empty()) return;
  const ThreadPlan plan = plan_threads(read_thread_env(), /*can_reexec=*/true);
  if (!plan.needs_passive_wait) return;
  std::vector<std::string> args = own_arguments();
  if (args.empty()) return;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string old_policy = env_or_empty("OMP_WAIT_POLICY");
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  setenv("LMLAB_THREADS_REEXEC", "1", 1);
  execv("/proc/self/exe", argv.data());
  // exec failed (no /proc): run on; the engine then plans without the passive policy.
  if (old_policy.empty())
    unsetenv("OMP_WAIT_POLICY");
  else
    setenv("OMP_WAIT_POLICY", old_policy.c_str(), 1);
}

}  // namespace lmlab::train
