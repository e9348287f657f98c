// Inputs that used to produce a file lmlab then refuses, a score of nothing, or a misleading
// message: each is now one "lmlab: error:" line, exit 2, and nothing written. (The plot and
// split-pattern cases are unit tests in tests/common/test_plot.cpp and tests/tokenizer.)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "expect_error.h"
#include "tiny_run.h"
#include "testing.h"

using lmlab::test::expect_one_error_line;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using lmlab::test::write_text;


TEST(RefusedInputs, SpecialTokensTheLoaderWouldRejectAreRefusedAtTrainTime) {
  TempDir dir;
  write_text(dir.file("c.txt"), "hello world foo bar\n");
  const std::string train = "tokenizer train --input " + dir.file("c.txt") + " --vocab-size 300 --output " + dir.file("t.json");
  expect_one_error_line(run_lmlab(train + " --special ''"), {"cannot be empty"});
  expect_one_error_line(run_lmlab(train + " --special a"), {"single byte"});
  expect_one_error_line(run_lmlab(train + " --special '<|x|>' --special '<|x|>'"), {"given twice"});
  EXPECT_FALSE(std::filesystem::exists(dir.file("t.json")));
  EXPECT_EQ(run_lmlab(train + " --special '<|x|>'").exit_code, 0);  // a real special still trains
}

TEST(RefusedInputs, AnEmptyTaskFileIsAnErrorNotAScoreOfZero) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("eval/copa"));
  write_text(dir.file("eval/copa/copa.mosaic.jsonl"), "\n\n");
  // The task file is read before any checkpoint is loaded, so a missing checkpoint is fine here.
  auto r = run_lmlab("eval --checkpoint " + dir.file("none") + " --tasks copa", "", "LMLAB_DATA=" + dir.path() + " ");
  expect_one_error_line(r, {dir.file("eval/copa/copa.mosaic.jsonl") + ": holds no items"});
}

// Checks that relate two keys: each is refused before a run directory is made.
TEST(RefusedInputs, KeysThatContradictEachOtherAreRefusedNamingBoth) {
  lmlab::test::TinyRun run;
  const std::string train = "train --config " + run.file("t.toml") + " --set run.out_dir=" + run.file("x");
  expect_one_error_line(run_lmlab(train + " --set data.seq_len=32"),
                        {"data.seq_len (32) must be <= model.max_seq_len (16)"});
  expect_one_error_line(run_lmlab(train + " --set model.ffn.type=mask_moe --set model.ffn.n_experts=2 "
                                          "--set model.ffn.mask_visible=3"),
                        {"model.ffn.mask_visible (3) must be <= model.ffn.n_experts (2)"});
  EXPECT_FALSE(std::filesystem::exists(run.file("x")));
}

// HF cannot run Scaffold-BPE's demolition, so its tokenizer is not exported silently; a plain
// tokenizer passed explicitly is.
TEST(RefusedInputs, AScaffoldBpeTokenizerIsNotExportedToHf) {
  lmlab::test::TinyRun run(300, "--algo scaffold");
  const std::string out = run.file("hf");
  const auto r = run_lmlab("export hf --checkpoint " + run.file("run") + " --output " + out);
  expect_one_error_line(r, {"tokenizer.json", "Scaffold-BPE", "--tokenizer"});
  EXPECT_FALSE(std::filesystem::exists(out));
  // A plain BPE passed explicitly is exported: the user vouches for its ids (it must fit the model).
  ASSERT_EQ(run_lmlab("tokenizer train --vocab-size 300 --input " + run.file("stories.txt") + " --output " +
                      run.file("plain.json")).exit_code, 0);
  const auto ok = run_lmlab("export hf --checkpoint " + run.file("run") + " --output " + out + " --tokenizer " +
                            run.file("plain.json"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_TRUE(std::filesystem::exists(out + "/tokenizer.json"));
}
