// How many CPU threads training uses, decided once per process (docs/training.md, "Threads").
//
// Two thread pools do the CPU work of a step: libtorch's intra-op pool (OpenMP in Debian's
// libtorch 1.13: elementwise ops, reductions, softmax) and OpenBLAS's own pthreads pool (every
// fp32 matrix multiply). libtorch sizes its pool by physical cores as cpuinfo reports them,
// which is 1 on some VMs that have 2 cores, so half the machine idles outside the GEMMs. But
// giving both pools every core makes them fight: an OpenMP worker that has finished a region
// busy-waits on its core (libgomp spins ~300k iterations without yielding) while the OpenBLAS
// worker that needs that core waits for it, which halves the speed of a training step. With
// OMP_WAIT_POLICY=PASSIVE an idle OpenMP worker sleeps at once, and the pools take turns.
//
// The plan: intra-op threads = the cores this process may run on (sched_getaffinity) divided
// by the ranks sharing the machine (LOCAL_WORLD_SIZE), unless LMLAB_THREADS (or else
// OMP_NUM_THREADS) says otherwise; OpenBLAS as many, unless OPENBLAS_NUM_THREADS is set. The
// wait policy can only be chosen before libgomp starts, i.e. in the environment the process
// was started with, so `lmlab train` restarts itself once with OMP_WAIT_POLICY=PASSIVE added
// when it would run more than one intra-op thread without it (reexec_for_threads); a process
// that cannot restart (an in-process caller) keeps one intra-op thread instead.
#pragma once
#include <string>
#include <vector>

namespace lmlab::train {

// What the environment says, as read by read_thread_env().
struct ThreadEnv {
  int cores = 1;                  // CPUs in this process's affinity mask
  std::string lmlab_threads;      // LMLAB_THREADS ("" = unset)
  std::string omp_num_threads;    // OMP_NUM_THREADS
  std::string openblas_threads;   // OPENBLAS_NUM_THREADS
  std::string omp_wait_policy;    // OMP_WAIT_POLICY
  std::string local_world_size;   // LOCAL_WORLD_SIZE (torchrun: ranks on this machine)
};

struct ThreadPlan {
  int intra_op = 1;    // at::set_num_threads
  int blas = 0;        // openblas_set_num_threads; 0 = leave OpenBLAS as its env made it
  bool needs_passive_wait = false;  // intra_op > 1 wants OMP_WAIT_POLICY=PASSIVE, which is unset
  std::string why;     // one phrase for the log line: "2 cores", "LMLAB_THREADS=1", ...
};

// CPUs this process may run on (sched_getaffinity; at least 1).
int available_cores();
ThreadEnv read_thread_env();

// The plan for `env` (pure: no side effects, for tests). UserError for an LMLAB_THREADS that is
// not an integer in [1, 1024]. `can_reexec`: whether a missing passive wait policy may be fixed
// by a restart (else the plan falls back to one intra-op thread when the policy is not passive).
ThreadPlan plan_threads(const ThreadEnv& env, bool can_reexec);

// Applies `plan` to libtorch and (when present in the process) OpenBLAS; returns the line
// describing it ("threads: 2 intra-op (2 cores), OpenBLAS 2").
std::string apply_threads(const ThreadPlan& plan);

// For `lmlab train` before it loads anything big: when the plan needs the passive wait policy,
// sets OMP_WAIT_POLICY=PASSIVE and execs /proc/self/exe with the same arguments (never returns
// then); otherwise returns. At most once per process tree (LMLAB_THREADS_REEXEC marks the child).
void reexec_for_threads();

// This process's command line as it was started (/proc/self/cmdline; empty without /proc).
std::vector<std::string> own_arguments();

}  // namespace lmlab::train
