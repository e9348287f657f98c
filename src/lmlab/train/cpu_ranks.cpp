// CPU ranks: the plan, the launcher and the ranks' batch split (why: cpu_ranks.h).
#include "lmlab/train/cpu_ranks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>
#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

extern char** environ;

namespace lmlab::train {

namespace {

// Why a split over ranks would change the numbers of `exp` ("" when it would not).
std::string why_not_exact(const Experiment& exp) {
  if (exp.run.task != "lm") return "task \"" + exp.run.task + "\" keeps one process";
  if (exp.model.ffn.type != "dense") return "model.ffn.type \"" + exp.model.ffn.type + "\" routes on whole-batch statistics";
  if (exp.model.dropout > 0) return "model.dropout > 0 would draw the same masks on every rank";
  return "";
}

// The largest count <= cores that divides the batch (1 when none does).
int ranks_dividing(int64_t batch, int cores) {
  for (int n = cores; n > 1; --n)
    if (batch % n == 0) return n;
  return 1;
}

}  // namespace

bool under_rank_launcher() { return std::getenv("RANK") != nullptr || std::getenv("WORLD_SIZE") != nullptr; }

CpuRankPlan plan_cpu_ranks(const Experiment& exp, const ThreadEnv& env, bool under_launcher) {
  const int64_t asked = exp.train.cpu_ranks;
  const int64_t batch = exp.train.batch_size;
  if (asked == 1) return {1, "train.cpu_ranks = 1"};
  if (asked > 1) {
    if (under_launcher)
      throw UserError("train.cpu_ranks = " + std::to_string(asked) +
                      ": this process is already one rank of a launcher (RANK/WORLD_SIZE are set); use 0 or 1");
    if (const std::string why = why_not_exact(exp); !why.empty())
      throw UserError("train.cpu_ranks = " + std::to_string(asked) + ": " + why + " (use 0 = auto or 1)");
    if (batch % asked != 0)
      throw UserError("train.cpu_ranks = " + std::to_string(asked) + " must divide train.batch_size (" +
                      std::to_string(batch) + "): every rank takes an equal share of each batch");
    return {static_cast<int>(asked), "train.cpu_ranks = " + std::to_string(asked)};
  }
  if (under_launcher) return {1, "ranks from the launcher"};
  if (!env.lmlab_threads.empty()) return {1, "LMLAB_THREADS is set"};
  if (!env.omp_num_threads.empty()) return {1, "OMP_NUM_THREADS is set"};
  if (env.cores < 2) return {1, "1 core"};
  if (const std::string why = why_not_exact(exp); !why.empty()) return {1, why};
  const int n = ranks_dividing(batch, env.cores);
  if (n == 1) return {1, "train.batch_size " + std::to_string(batch) + " does not split over " + std::to_string(env.cores) + " cores"};
  return {n, std::to_string(env.cores) + " cores"};
}

int64_t cpu_rank_split() {
  const char* split = std::getenv("LMLAB_CPU_RANKS");
  if (split == nullptr) return 1;
  const char* world = std::getenv("WORLD_SIZE");
  const int64_t n = std::atoll(split);
  if (n < 1 || world == nullptr || std::atoll(world) != n)
    throw UserError(std::string("LMLAB_CPU_RANKS=") + split + " is set by `lmlab train` for its own ranks and must equal WORLD_SIZE (" +
                    (world ? world : "unset") + "); unset it");
  return n;
}

std::string with_cpu_ranks(const std::string& threads, const Experiment& exp, int64_t split, bool alone) {
  const TrainConfig& tc = exp.train;
  if (split > 1)
    return "cpu ranks: " + std::to_string(split) + " processes x " + std::to_string(tc.batch_size / split) +
           " of each batch of " + std::to_string(tc.batch_size) + " (train.cpu_ranks = " + std::to_string(tc.cpu_ranks) +
           (tc.cpu_ranks == 0 ? ": one per core)\n" : ")\n") + threads;
  const ThreadEnv cpu = read_thread_env();
  if (!alone || cpu.cores < 2) return threads;
  const CpuRankPlan plan = plan_cpu_ranks(exp, cpu, false);
  return plan.ranks == 1 ? threads + "; one process (train.cpu_ranks: " + plan.why + ")" : threads;
}

namespace {

// A TCP port free on the loopback now (the kernel's pick; rank 0 binds it a moment later).
int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  if (fd >= 0) close(fd);
  if (!ok) throw std::runtime_error(std::string("train.cpu_ranks: no free loopback port: ") + std::strerror(errno));
  return ntohs(a.sin_port);
}

// The ranks' pids, for the signal handler: a SIGINT/SIGTERM/SIGHUP to the launcher is passed on.
constexpr int kMaxRanks = 1024;
pid_t g_pids[kMaxRanks];
volatile sig_atomic_t g_count = 0;

void forward_signal(int sig) {
  for (sig_atomic_t i = 0; i < g_count; ++i) kill(g_pids[i], sig);
}

pid_t spawn_rank(int rank, int ranks, int port, const std::vector<std::string>& args, const std::string& err_file) {
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"RANK", std::to_string(rank)},        {"LOCAL_RANK", std::to_string(rank)},
      {"WORLD_SIZE", std::to_string(ranks)}, {"LOCAL_WORLD_SIZE", std::to_string(ranks)},
      {"MASTER_ADDR", "127.0.0.1"},          {"MASTER_PORT", std::to_string(port)},
      {"LMLAB_CPU_RANKS", std::to_string(ranks)}};
  // The caller's environment without our keys: getenv takes the first of two, so an exported
  // MASTER_PORT or LOCAL_RANK would otherwise win over the rank's own.
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto is_ours = [&](const auto& kv) { return entry.substr(0, entry.find('=')) == kv.first; };
    if (std::none_of(ours.begin(), ours.end(), is_ours)) env_text.emplace_back(entry);
  }
  for (const auto& [k, v] : ours) env_text.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_text = args;
  for (auto& a : arg_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (rank > 0) {  // one voice: rank 0's; the others' stderr is kept for when they fail first
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  }
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(std::string("train.cpu_ranks: cannot start rank: ") + std::strerror(rc));
  return pid;
}

// An empty file for rank r's stderr (mkstemp in $TMPDIR, else /tmp).
std::string rank_err_file(int r) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/lmlab-rank" + std::to_string(r) + "-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("train.cpu_ranks: cannot create " + path + ": " + std::strerror(errno));
  close(fd);
  return path;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Waits for `pid` up to `seconds`; true (and its status) when it ended.
bool wait_for(pid_t pid, double seconds, int* status) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (waitpid(pid, status, WNOHANG) == pid) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Waits for every rank, filling status[r] (waitpid's); returns the first that failed, or -1.
// Once one fails, rank 0 usually fails for the same reason a moment later and says it on our
// stderr: it gets that moment, then every rank still waiting for the failed one is stopped.
int wait_for_ranks(const std::vector<pid_t>& pids, std::vector<int>& status) {
  int first_failed = -1;
  for (size_t alive = pids.size(); alive > 0;) {
    int st = 0;
    const pid_t pid = waitpid(-1, &st, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    const auto it = std::find(pids.begin(), pids.end(), pid);
    if (it == pids.end()) continue;
    const auto r = static_cast<size_t>(it - pids.begin());
    status[r] = st;
    --alive;
    if (exit_code_of(st) == 0 || first_failed >= 0) continue;
    first_failed = static_cast<int>(r);
    if (r != 0 && status[0] == -1 && wait_for(pids[0], 2.0, &status[0])) --alive;
    for (size_t k = 0; k < pids.size(); ++k)
      if (status[k] == -1) kill(pids[k], SIGTERM);
  }
  return first_failed;
}

}  // namespace

int run_cpu_ranks(const CpuRankPlan& plan, const std::vector<std::string>& args) {
  const int n = std::min(plan.ranks, kMaxRanks);
  const int port = free_loopback_port();
  std::vector<std::string> err_files(n);
  for (int r = 1; r < n; ++r) err_files[r] = rank_err_file(r);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, forward_signal);
  std::cout.flush();  // rank 0 writes to the same stdout and stderr: what we printed comes first
  std::cerr.flush();
  std::vector<pid_t> pids;
  for (int r = 0; r < n; ++r) {
    pids.push_back(spawn_rank(r, n, port, args, err_files[r]));
    g_pids[r] = pids.back();
    g_count = r + 1;
  }
  std::vector<int> status(n, -1);
  const int first_failed = wait_for_ranks(pids, status);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, SIG_DFL);
  g_count = 0;
  // Rank 0 finished, or was stopped before it could say why: the failed rank's words are shown.
  const bool rank0_silent = exit_code_of(status[0]) == 0 || (WIFSIGNALED(status[0]) && WTERMSIG(status[0]) == SIGTERM);
  if (first_failed > 0 && rank0_silent) std::cerr << read_file(err_files[first_failed]);
  // A rank that was killed says nothing itself, and rank 0 only saw a peer vanish: name it.
  if (first_failed > 0 && WIFSIGNALED(status[first_failed])) {
    const int sig = WTERMSIG(status[first_failed]);
    std::cerr << "lmlab: cpu rank " << first_failed << " of " << n << " was killed by signal " << sig << " ("
              << strsignal(sig) << ") first\n";
  }
  for (int r = 1; r < n; ++r) std::remove(err_files[r].c_str());
  if (first_failed < 0) return 0;
  // Rank 0's own failure is the one it explained (the others then only saw a peer vanish).
  return exit_code_of(status[rank0_silent ? first_failed : 0]);
}

void exit_as(int status) {
  std::cout.flush();
  std::cerr.flush();
  if (status > 128 && status < 128 + NSIG) {
    std::signal(status - 128, SIG_DFL);
    std::raise(status - 128);
  }
  std::exit(status);
}

}  // namespace lmlab::train
