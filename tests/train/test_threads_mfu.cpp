// The CPU thread plan (cpu_threads.h: defaults, overrides, the wait-policy fallback, bad values)
// and MFU (mfu.h: the formula on a given peak, which peak applies, the measured CPU peak), plus
// both as `lmlab train` reports them.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/train/cpu_threads.h"
#include "lmlab/train/mfu.h"
#include "testing.h"
#include "train_test_util.h"

using namespace lmlab::train;

namespace {

ThreadEnv machine(int cores) {
  ThreadEnv e;
  e.cores = cores;
  return e;
}

}  // namespace

TEST(ThreadPlan, DefaultIsEveryCoreForBothPoolsWithThePassiveWaitPolicy) {
  ThreadPlan p = plan_threads(machine(2), /*can_reexec=*/true);
  EXPECT_EQ(p.intra_op, 2);
  EXPECT_EQ(p.blas, 2);
  EXPECT_TRUE(p.needs_passive_wait);
  EXPECT_EQ(p.why, "2 cores");
  ThreadEnv passive = machine(8);
  passive.omp_wait_policy = "passive";  // libgomp accepts any case
  p = plan_threads(passive, true);
  EXPECT_EQ(p.intra_op, 8);
  EXPECT_EQ(p.blas, 8);
  EXPECT_FALSE(p.needs_passive_wait);
  // A single core needs no policy.
  p = plan_threads(machine(1), true);
  EXPECT_EQ(p.intra_op, 1);
  EXPECT_FALSE(p.needs_passive_wait);
  EXPECT_EQ(p.why, "1 core");
}

TEST(ThreadPlan, WithoutThePassivePolicyAndNoRestartItKeepsOneIntraOpThread) {
  ThreadEnv active = machine(2);
  active.omp_wait_policy = "ACTIVE";
  for (bool can_reexec : {false, true}) {
    ThreadPlan p = plan_threads(active, can_reexec);
    EXPECT_EQ(p.intra_op, can_reexec ? 2 : 1) << can_reexec;
    EXPECT_EQ(p.needs_passive_wait, can_reexec);
  }
  ThreadPlan p = plan_threads(active, false);
  EXPECT_EQ(p.blas, 2);  // the GEMMs still use both cores
  EXPECT_NE(p.why.find("without OMP_WAIT_POLICY=PASSIVE"), std::string::npos) << p.why;
}

TEST(ThreadPlan, LmlabThreadsOverridesOmpNumThreadsWhichOverridesTheCores) {
  ThreadEnv e = machine(2);
  e.omp_num_threads = "1";  // the golden tests' setting: OpenBLAS read it too, so leave OpenBLAS
  ThreadPlan p = plan_threads(e, true);
  EXPECT_EQ(p.intra_op, 1);
  EXPECT_EQ(p.blas, 0);
  EXPECT_EQ(p.why, "OMP_NUM_THREADS=1");
  e.lmlab_threads = "3";
  e.omp_wait_policy = "PASSIVE";
  p = plan_threads(e, true);
  EXPECT_EQ(p.intra_op, 3);
  EXPECT_EQ(p.blas, 3);  // ours, not the OMP_NUM_THREADS OpenBLAS read
  EXPECT_EQ(p.why, "LMLAB_THREADS=3");
  e.openblas_threads = "1";
  EXPECT_EQ(plan_threads(e, true).blas, 0);  // the user's OpenBLAS count stands
  ThreadEnv junk = machine(2);
  junk.omp_num_threads = "lots";  // ignored, as libgomp ignores it
  EXPECT_EQ(plan_threads(junk, true).intra_op, 2);
}

TEST(ThreadPlan, LocalRanksShareTheCores) {
  ThreadEnv e = machine(8);
  e.local_world_size = "4";
  ThreadPlan p = plan_threads(e, true);
  EXPECT_EQ(p.intra_op, 2);
  EXPECT_EQ(p.why, "8 cores / 4 local ranks");
  e.cores = 2;
  EXPECT_EQ(plan_threads(e, true).intra_op, 1);
}

TEST(ThreadPlan, AMalformedLmlabThreadsIsAUserErrorNamingIt) {
  for (const char* bad : {"0", "-1", "two", "2000", "1.5", " 2"}) {
    ThreadEnv e = machine(2);
    e.lmlab_threads = bad;
    try {
      plan_threads(e, true);
      FAIL() << bad;
    } catch (const lmlab::UserError& err) {
      EXPECT_NE(std::string(err.what()).find("LMLAB_THREADS: expected an integer in [1, 1024]"), std::string::npos)
          << err.what();
      EXPECT_NE(std::string(err.what()).find(std::string("'") + bad + "'"), std::string::npos) << err.what();
    }
  }
}

TEST(ThreadPlan, ApplySetsTheIntraOpThreadsAndCoresComeFromTheAffinityMask) {
  const int before = at::get_num_threads();
  ThreadPlan p;
  p.intra_op = 3;
  p.why = "test";
  const std::string line = apply_threads(p);
  EXPECT_EQ(at::get_num_threads(), 3);
  EXPECT_EQ(line.rfind("threads: 3 intra-op (test)", 0), 0u) << line;
  p.intra_op = before;
  apply_threads(p);
  const int cores = available_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(static_cast<unsigned>(cores), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(Mfu, TheFormulaOnAGivenPeak) {
  // 7.5 MFLOPs/token at 10k tokens/s = 75 GFLOP/s of 150 GFLOP/s.
  EXPECT_DOUBLE_EQ(model_flops_utilisation(7.5e6, 1e4, 150e9, 1), 0.5);
  EXPECT_DOUBLE_EQ(model_flops_utilisation(7.5e6, 1e4, 150e9, 2), 0.25);  // the peak of every rank
  EXPECT_EQ(model_flops_utilisation(7.5e6, 1e4, 0, 1), 0.0);
  EXPECT_EQ(model_flops_utilisation(7.5e6, 0, 150e9, 1), 0.0);
}

TEST(Mfu, CudaAndASetPeakUseTheConfigTheCpuDefaultIsMeasured) {
  std::string source;
  EXPECT_DOUBLE_EQ(mfu_peak_flops(true, 989.0, 989.0, &source), 989e12);
  EXPECT_EQ(source, "train.peak_tflops");
  EXPECT_DOUBLE_EQ(mfu_peak_flops(false, 0.25, 989.0, &source), 0.25e12);
  EXPECT_EQ(source, "train.peak_tflops");
  const double measured = mfu_peak_flops(false, 989.0, 989.0, &source);
  EXPECT_EQ(source, "measured fp32 matmul, 512^3");
  EXPECT_EQ(measured, measured_matmul_flops());  // measured once, cached
  EXPECT_GT(measured, 1e8);   // any CPU multiplies faster than 0.1 GFLOP/s
  EXPECT_LT(measured, 1e14);  // and slower than 100 TFLOP/s in fp32
  EXPECT_GT(time_matmul_flops(64, 1, 0.001), 0.0);
}

// `lmlab train` on the CPU: the thread line, the measured peak, and an MFU in (0, 1) per step.
TEST(Mfu, TrainReportsThreadsAndAMeasuredCpuMfu) {
  lmlab::test::TempDir dir;
  lmlab::test::write_synthetic_shards(dir);
  lmlab::test::write_text(dir.file("t.toml"), "[run]\ndevice = \"cpu\"\nout_dir = \"" + dir.file("run") +
                                                  "\"\n[data]\ndir = \"" + dir.path() +
                                                  "\"\nseq_len = 16\n[model]\nn_layer = 1\nn_head = 2\n"
                                                  "d_model = 32\nmax_seq_len = 16\n[train]\nsteps = 3\n"
                                                  "batch_size = 4\nlog_every = 1\n[eval]\nwindows = 2\n");
  auto r = lmlab::test::run_lmlab("train --config " + dir.file("t.toml"), "", "LMLAB_THREADS=2 ");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("threads: 2 intra-op (LMLAB_THREADS=2)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("per device (measured fp32 matmul, 512^3)"), std::string::npos) << r.err;
  int steps = 0;
  for (const auto& j : lmlab::test::read_jsonl(dir.file("run/metrics.jsonl"))) {
    if (!j.contains("mfu")) continue;
    ++steps;
    EXPECT_GT(j["mfu"].get<double>(), 0.0) << j.dump();
    EXPECT_LT(j["mfu"].get<double>(), 1.0) << j.dump();
  }
  EXPECT_EQ(steps, 3);
}
