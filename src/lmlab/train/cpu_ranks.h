// Data parallelism over the CPU's cores inside one `lmlab train` (train.cpu_ranks,
// docs/training.md "Threads and CPU ranks").
//
// A small model's step is hundreds of small ops; libtorch's intra-op pool splits each one over
// the cores and pays a wake-up per op, so on 2 cores one process with 2 threads trains hardly
// faster than with 1 (measured: PyTorch eager 8,970 vs 8,984 tokens/s on the quickstart model),
// while two single-threaded processes each keep ~8,000. So `lmlab train` on the CPU starts one
// process per core ("CPU ranks"), each with one thread and batch_size / ranks sequences of every
// global batch, and they average gradients over Gloo like torchrun's ranks (distributed.h). The
// loader deals windows so that R ranks with batch B see exactly what 1 rank with batch R*B sees
// (data/loader.h), and every loss of a dense LM is a mean over equally many positions per rank,
// so the loss sequence equals one process's within float rounding. Where a split would change
// the numbers (MoE routing statistics and capacity are per batch; SFT and the encoder tasks
// average over a varying number of positions or pair examples within a batch) auto keeps one
// process.
//
//   parent: plan_cpu_ranks -> run_cpu_ranks spawns /proc/self/exe N times with RANK, WORLD_SIZE,
//           LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR/PORT and LMLAB_CPU_RANKS=N set, waits,
//           stops the rest when one fails, and exits as rank 0 or the first failing rank did.
//   ranks:  cpu_rank_split() = N: each builds its sources with batch_size / N sequences.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/train/cpu_threads.h"
#include "lmlab/train/experiment.h"

namespace lmlab::train {

struct CpuRankPlan {
  int ranks = 1;       // processes to start; 1 = train in this process
  std::string why;     // for the log line: "2 cores", "moe routing statistics are per batch", ...
};

// The plan for a CPU run of `exp` (pure, for tests). `under_launcher`: RANK or WORLD_SIZE is
// set (torchrun or our own ranks), so this process is already one rank. UserError for an explicit
// train.cpu_ranks > 1 that cannot split the batch exactly, or under a launcher.
CpuRankPlan plan_cpu_ranks(const Experiment& exp, const ThreadEnv& env, bool under_launcher);

// Whether RANK or WORLD_SIZE is set in this process's environment.
bool under_rank_launcher();

// Starts plan.ranks processes of this executable, waits for all and returns the exit
// status to end with: 0, else rank 0's when it failed by itself (it says why), else the first
// failing rank's (an exit code, or 128 + the signal that killed it). Rank 0 writes to this
// process's stdout and stderr; the others' stderr is kept in a temporary file and printed only
// when that rank failed first and rank 0 said nothing.
// `args`: the command line each rank runs (argv[0] first; the executable is this one).
int run_cpu_ranks(const CpuRankPlan& plan, const std::vector<std::string>& args);

// Ends this process as the ranks ended (run_cpu_ranks' status): with that exit code, or killed by
// the same signal.
[[noreturn]] void exit_as(int status);

// The threads line (cpu_threads.h) with what CPU ranks add to it: in a rank of run_cpu_ranks
// (`split` > 1) a line before it, "cpu ranks: 2 processes x 8 of each batch of 16 (...)"; in a
// lone CPU process (`alone`) on several cores, why auto kept one process.
std::string with_cpu_ranks(const std::string& threads, const Experiment& exp, int64_t split, bool alone);

// In a rank started by run_cpu_ranks: the number of ranks sharing each global batch (from
// LMLAB_CPU_RANKS, checked against WORLD_SIZE); 1 elsewhere.
int64_t cpu_rank_split();

}  // namespace lmlab::train
