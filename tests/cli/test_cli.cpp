// The `lmlab` executable's contract: exit codes, one-line errors, --help and --version.
#include <gtest/gtest.h>

#include <algorithm>

#include "testing.h"

using lmlab::test::run_lmlab;

TEST(Cli, VersionNamesLmlabLibtorchAndCuda) {
  auto r = run_lmlab("--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("lmlab 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("libtorch "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CUDA: "), std::string::npos) << r.out;
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* cmd : {"", "tokenizer train", "tokenizer encode", "tokenizer decode", "tokenizer stats",
                          "data prepare", "train", "eval", "generate", "scaling fit", "export hf", "import hf",
                          "quickstart", "results table", "results record", "uniattn init"}) {
    auto r = run_lmlab(std::string(cmd) + " --help");
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

TEST(Cli, NoCommandIsUsageError) {
  auto r = run_lmlab("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("lmlab: error: ", 0), 0u) << r.err;
}

TEST(Cli, MisspelledCommandSuggestsOne) {
  auto r = run_lmlab("trian");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("did you mean 'train'?"), std::string::npos) << r.err;
}

TEST(Cli, UnknownOptionIsUsageError) {
  auto r = run_lmlab("train --no-such-option");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Cli, PrintConfigListsEveryKey) {
  auto r = run_lmlab("train --print-config");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"[run]", "[model]", "[train]", "[data]", "[eval]", "seed = 1337"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST(Cli, ConfigErrorsAreOneLineWithExit2) {
  lmlab::test::TempDir tmp;
  std::string cfg = tmp.file("exp.toml");
  lmlab::test::write_text(cfg, "[model]\nn_layr = 2\n");
  auto r = run_lmlab("train --config " + cfg);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "lmlab: error: " + cfg + ":2:1: unknown key 'model.n_layr' (did you mean 'model.n_layer'?)\n");

  r = run_lmlab("train --config " + cfg + ".missing");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "lmlab: error: " + cfg + ".missing: no such file\n");

  r = run_lmlab("train --print-config --set train.lr=fast");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("key 'train.lr' must be a float"), std::string::npos) << r.err;
}
