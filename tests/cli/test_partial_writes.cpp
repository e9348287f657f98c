// A full disk and a run killed mid-write (issue #23 class 6): the run stops with one error line
// naming the file and errno; --resume skips a checkpoint missing a file and removes the staging
// a killed run left.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "testing.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
using lmlab::test::run_lmlab;

TEST(PartialWrites, AFullDiskStopsTheRunNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  lmlab::test::TinyRun run;
  const std::string dir = run.file("full");
  fs::create_directories(dir);
  fs::create_symlink("/dev/full", dir + "/metrics.jsonl");  // every write: ENOSPC
  const auto r = run_lmlab("train --config " + run.file("t.toml") + " --set run.out_dir=" + dir);
  // The run had started, so its log (threads, MFU peak) may come first: the error is one line, the last.
  EXPECT_EQ(r.exit_code, 2) << r.err;
  const size_t at = r.err.find("lmlab: error: ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_TRUE(at == 0 || r.err[at - 1] == '\n') << r.err;
  EXPECT_EQ(r.err.find('\n', at), r.err.size() - 1) << r.err;
  for (const std::string& n : {dir + "/metrics.jsonl", std::string("No space left on device (errno 28)")})
    EXPECT_NE(r.err.find(n, at), std::string::npos) << "missing '" << n << "' in " << r.err;
}

TEST(PartialWrites, ResumeSkipsIncompleteCheckpointsAndRemovesStaleStaging) {
  lmlab::test::TinyRun run;  // 3 steps, checkpoint at the end: checkpoints/step_00000003
  const std::string ckpts = run.file("run/checkpoints");
  ASSERT_TRUE(fs::exists(ckpts + "/step_00000003/optimizer.safetensors"));
  // A newer directory without its optimizer state, `latest` lost, and a killed writer's staging.
  fs::copy(ckpts + "/step_00000003", ckpts + "/step_00000009", fs::copy_options::recursive);
  fs::remove(ckpts + "/step_00000009/optimizer.safetensors");
  fs::remove(ckpts + "/latest");
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  const std::string stale = ckpts + "/step_00000006.tmp." + std::to_string(dead);
  fs::create_directories(stale);
  const auto r = run_lmlab("train --config " + run.file("t.toml") + " --resume --set train.steps=5 --set train.keep_checkpoints=1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_NE(r.err.find("removed " + ckpts + "/step_00000006.tmp."), std::string::npos) << r.err;
  // Resumed from step 3, and the incomplete step 9 did not count as the one checkpoint to keep.
  EXPECT_TRUE(fs::exists(ckpts + "/step_00000005/optimizer.safetensors"));
  EXPECT_FALSE(fs::exists(ckpts + "/step_00000003"));
}
