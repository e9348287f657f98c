// CPU ranks (cpu_ranks.h): the plan, and `lmlab train` splitting each batch over one process per
// core: the same losses as one process within rounding, exact resume after kill -9, one error
// line for bad input, a rank killed first named, a SIGTERM to the launcher stopping every rank,
// a time budget ending all ranks at the same step, and a run auto keeps in one process saying why.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/train/cpu_ranks.h"
#include "testing.h"
#include "train_test_util.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using namespace lmlab::train;

namespace {

lmlab::Experiment dense_lm(int64_t batch) {
  lmlab::Experiment e;
  e.train.batch_size = batch;
  return e;
}

ThreadEnv cores(int n) {
  ThreadEnv env;
  env.cores = n;
  return env;
}

std::string plan_error(const lmlab::Experiment& e, bool under_launcher) {
  try {
    plan_cpu_ranks(e, cores(2), under_launcher);
  } catch (const lmlab::UserError& err) {
    return err.what();
  }
  return "";
}

// Synthetic shards and a tiny dense LM with batch 4, trained `steps` steps.
struct RanksRun {
  TempDir dir;
  explicit RanksRun(int steps = 8) {
    lmlab::test::write_synthetic_shards(dir);
    lmlab::test::write_text(dir.file("r.toml"), "[run]\ndevice = \"cpu\"\nseed = 5\n[data]\ndir = \"" + dir.path() +
                                                    "\"\nseq_len = 16\n[model]\nn_layer = 2\nn_head = 2\nd_model = 32\n"
                                                    "max_seq_len = 16\n[train]\nsteps = " + std::to_string(steps) +
                                                    "\nlr = 1e-2\nwarmup_steps = 2\nbatch_size = 4\nlog_every = 1\n"
                                                    "checkpoint_every = 4\n[eval]\nevery = 4\nwindows = 8\n");
  }
  std::string args(const std::string& run, const std::string& extra = "") const {
    return "train --config " + dir.file("r.toml") + " --set run.out_dir=" + dir.file(run) + " " + extra;
  }
  std::vector<nlohmann::json> steps(const std::string& run) const { return lmlab::test::step_lines(dir.file(run)); }
};

bool two_cores() { return available_cores() >= 2; }

}  // namespace

TEST(CpuRankPlan, AutoTakesOneRankPerCoreThatDividesTheBatch) {
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), cores(2), false).ranks, 2);
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), cores(2), false).why, "2 cores");
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), cores(3), false).ranks, 2);  // 3 does not divide 16
  EXPECT_EQ(plan_cpu_ranks(dense_lm(12), cores(4), false).ranks, 4);
  const CpuRankPlan odd = plan_cpu_ranks(dense_lm(7), cores(2), false);
  EXPECT_EQ(odd.ranks, 1);
  EXPECT_EQ(odd.why, "train.batch_size 7 does not split over 2 cores");
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), cores(1), false).ranks, 1);
}

TEST(CpuRankPlan, AutoKeepsOneProcessWhereASplitWouldChangeTheNumbers) {
  lmlab::Experiment moe = dense_lm(16);
  moe.model.ffn.type = "moe";
  EXPECT_EQ(plan_cpu_ranks(moe, cores(2), false).ranks, 1);
  EXPECT_NE(plan_cpu_ranks(moe, cores(2), false).why.find("whole-batch statistics"), std::string::npos);
  lmlab::Experiment dropout = dense_lm(16);
  dropout.model.dropout = 0.1;
  EXPECT_EQ(plan_cpu_ranks(dropout, cores(2), false).ranks, 1);
  lmlab::Experiment sft = dense_lm(16);
  sft.run.task = "sft";
  EXPECT_EQ(plan_cpu_ranks(sft, cores(2), false).ranks, 1);
  // The user pinned one process's threads, or a launcher made this process a rank.
  ThreadEnv pinned = cores(2);
  pinned.lmlab_threads = "2";
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), pinned, false).ranks, 1);
  pinned = cores(2);
  pinned.omp_num_threads = "1";
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), pinned, false).ranks, 1);
  EXPECT_EQ(plan_cpu_ranks(dense_lm(16), cores(2), true).ranks, 1);
}

TEST(CpuRankPlan, AnExplicitCountIsKeptOrRefusedWithTheReason) {
  lmlab::Experiment e = dense_lm(16);
  e.train.cpu_ranks = 4;
  EXPECT_EQ(plan_cpu_ranks(e, cores(2), false).ranks, 4);  // more ranks than cores: asked for
  e.train.cpu_ranks = 1;
  EXPECT_EQ(plan_cpu_ranks(e, cores(8), false).ranks, 1);
  e.train.cpu_ranks = 3;
  EXPECT_NE(plan_error(e, false).find("train.cpu_ranks = 3 must divide train.batch_size (16)"), std::string::npos);
  e.train.cpu_ranks = 2;
  EXPECT_NE(plan_error(e, true).find("already one rank of a launcher"), std::string::npos);
  e.model.ffn.type = "cartesian_moe";
  EXPECT_NE(plan_error(e, false).find("model.ffn.type \"cartesian_moe\""), std::string::npos);
}

TEST(CpuRanks, TwoRanksTrainTheLossesOfOneProcess) {
  if (!two_cores()) GTEST_SKIP() << "one core: auto keeps one process";
  RanksRun f;
  auto one = run_lmlab(f.args("one", "--set train.cpu_ranks=1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.err.find("cpu ranks:"), std::string::npos) << one.err;
  auto two = run_lmlab(f.args("two"));
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(two.err.find("cpu ranks: 2 processes x 2 of each batch of 4 (train.cpu_ranks = 0: one per core)"),
            std::string::npos) << two.err;
  EXPECT_NE(two.err.find("threads: 1 intra-op (2 cores / 2 local ranks)"), std::string::npos) << two.err;
  EXPECT_NE(two.out.find("trained 8 steps"), std::string::npos) << "rank 0's summary, once: " << two.out;
  EXPECT_EQ(two.out.find("trained 8 steps"), two.out.rfind("trained 8 steps")) << two.out;
  const auto a = f.steps("one"), b = f.steps("two");
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 8u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << "step " << i + 1;
    EXPECT_NEAR(a[i]["grad_norm"].get<double>(), b[i]["grad_norm"].get<double>(), 1e-4) << "step " << i + 1;
    EXPECT_EQ(a[i]["tokens"], b[i]["tokens"]) << "the whole batch is counted, not rank 0's share";
  }
  // The config written is the user's: the full batch, cpu_ranks auto.
  const std::string config = lmlab::test::read_text(f.dir.file("two/config.toml"));
  EXPECT_NE(config.find("batch_size = 4"), std::string::npos) << config;
}

TEST(CpuRanks, ResumeAfterKillingEveryRankIsBitIdentical) {
  if (!two_cores()) GTEST_SKIP() << "one core: auto keeps one process";
  RanksRun f(12);
  ASSERT_EQ(run_lmlab(f.args("full")).exit_code, 0);
  // kill -9 of both ranks after step 6 (last checkpoint: step 4): the launcher dies of SIGKILL too.
  auto killed = run_lmlab(f.args("cut"), "", "LMLAB_TEST_KILL_AFTER_STEP=6 ");
  EXPECT_NE(killed.exit_code, 0);
  auto resumed = run_lmlab(f.args("cut", "--resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from"), std::string::npos) << resumed.err;
  const auto a = f.steps("full"), b = f.steps("cut");
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump()) << "step " << i + 1;
}

TEST(CpuRanks, BadDataIsOneErrorLineAndExit2) {
  RanksRun f;
  auto r = run_lmlab(f.args("x", "--set data.dir=" + f.dir.file("nodata")));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("lmlab: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("meta.json"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "rank 1's copy of the error is not shown: " << r.err;
}

TEST(CpuRanks, ARankKilledFirstIsNamedAndTheRunEndsAtOnce) {
  if (!two_cores()) GTEST_SKIP() << "one core: auto keeps one process";
  RanksRun f(200);
  const auto start = std::chrono::steady_clock::now();
  auto r = run_lmlab(f.args("dead", "--set train.dist_timeout_s=60"), "", "LMLAB_TEST_KILL_AFTER_STEP=3@1 ");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("lmlab: cpu rank 1 of 2 was killed by signal 9 (Killed) first"), std::string::npos) << r.err;
  EXPECT_LT(seconds, 30.0) << "rank 0 waited for the dead rank's timeout";
  EXPECT_TRUE(f.steps("dead").size() < 200u) << "the run stopped";
}

TEST(CpuRanks, SigtermToTheLauncherStopsEveryRank) {
  if (!two_cores()) GTEST_SKIP() << "one core: auto keeps one process";
  RanksRun f(100000);
  const std::string run = f.dir.file("long");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string cmd = std::string("exec ") + LMLAB_EXE + " " + f.args("long") + " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(run + "/metrics.jsonl") && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(std::filesystem::exists(run + "/metrics.jsonl")) << "training never started";
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  // No process of this run is left: every cmdline naming its run directory is gone.
  for (const auto& p : std::filesystem::directory_iterator("/proc")) {
    const std::string cmdline = lmlab::test::read_text(p.path().string() + "/cmdline");
    EXPECT_EQ(cmdline.find(run), std::string::npos) << "still running: " << p.path();
  }
}

TEST(CpuRanks, ATimeBudgetEndsEveryRankAfterTheSameStep) {
  if (!two_cores()) GTEST_SKIP() << "one core: auto keeps one process";
  RanksRun f(100000);
  auto r = run_lmlab(f.args("timed", "--set train.max_minutes=0.02 --set train.dist_timeout_s=20"));
  ASSERT_EQ(r.exit_code, 0) << "a rank that went on would wait for the others: " << r.err;
  EXPECT_NE(r.err.find("cpu ranks: 2"), std::string::npos) << r.err;
  EXPECT_FALSE(f.steps("timed").empty());
}

TEST(CpuRanks, AMoeRunStaysOneProcessAndSaysWhy) {
  if (!two_cores()) GTEST_SKIP() << "one core: nothing to explain";
  RanksRun f(2);
  auto r = run_lmlab(f.args("moe", "--set model.ffn.type=moe --set model.ffn.n_experts=2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("cpu ranks:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("; one process (train.cpu_ranks: model.ffn.type \"moe\" routes on whole-batch statistics)"),
            std::string::npos) << r.err;
}
