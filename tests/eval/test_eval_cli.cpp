// `lmlab eval` / `lmlab export hf` on the command line: bad usage is one clear line and exit 2.
#include <gtest/gtest.h>

#include "testing.h"

using lmlab::test::run_lmlab;

TEST(EvalCli, UnknownTaskSuggestsTheClosest) {
  auto r = run_lmlab("eval --checkpoint nowhere --tasks ppl,hellaswg");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown task 'hellaswg' (did you mean 'hellaswag'?)"), std::string::npos) << r.err;
}

TEST(EvalCli, MissingCheckpointIsAUserError) {
  lmlab::test::TempDir dir;
  auto r = run_lmlab("eval --checkpoint " + dir.file("none") + " --tasks copa --limit 2");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(dir.file("none")), std::string::npos) << r.err;
}

TEST(EvalCli, SamplesNeedOneCheckpoint) {
  auto r = run_lmlab("eval --checkpoint a,b --tasks copa --samples s.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--samples works with one checkpoint"), std::string::npos) << r.err;
}

TEST(ExportCli, MissingCheckpointIsAUserError) {
  lmlab::test::TempDir dir;
  auto r = run_lmlab("export hf --checkpoint " + dir.file("none") + " --output " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}
