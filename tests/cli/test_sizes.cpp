// Issue #23 class 3 through the command line: an absurd size is refused with one line naming
// the key, before a model is built (it used to be OOM-killed or die in the allocator), by both
// `train` and `train --print-params`; and --print-params counts a decoder without building it.
#include <gtest/gtest.h>

#include <filesystem>

#include "expect_error.h"
#include "testing.h"

using lmlab::test::expect_one_error_line;
using lmlab::test::run_lmlab;

TEST(Sizes, AbsurdSizesAreRefusedBeforeAnythingIsBuilt) {
  lmlab::test::TempDir dir;
  lmlab::test::write_text(dir.file("t.toml"), "[run]\nout_dir = \"" + dir.file("run") +
                                                  "\"\n[data]\ndir = \"" + dir.file("nodata") +
                                                  "\"\nseq_len = 16\n[model]\nn_layer = 1\nn_head = 2\n"
                                                  "d_model = 16\nmax_seq_len = 16\nvocab_size = 300\n");
  const std::string train = "train --config " + dir.file("t.toml");
  for (const char* mode : {"", " --print-params"}) {
    expect_one_error_line(run_lmlab(train + mode + " --set model.n_layer=1000000"), {"model.n_layer = 1000000: ", "of memory"});
    expect_one_error_line(run_lmlab(train + mode + " --set train.batch_size=1000000000"), {"train.batch_size = 1000000000: "});
    expect_one_error_line(run_lmlab(train + mode + " --set model.vocab_size=2000000000"), {"model.vocab_size = 2000000000: "});
    expect_one_error_line(run_lmlab(train + mode + " --set model.ffn.type=moe --set model.ffn.n_experts=1000000"),
                          {"model.ffn.n_experts = 1000000: "});
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
  // A sane config passes the check and fails where it should: the missing data.
  expect_one_error_line(run_lmlab(train), {dir.file("nodata") + "/meta.json"});
}

TEST(Sizes, PrintParamsCountsTheDecoderWithoutBuildingIt) {
  lmlab::test::TempDir dir;
  lmlab::test::write_text(dir.file("t.toml"), "[data]\ndir = \"" + dir.file("nodata") +
                                                  "\"\nseq_len = 16\n[model]\nn_layer = 1\nn_head = 2\n"
                                                  "d_model = 16\nmax_seq_len = 16\nvocab_size = 300\n");
  const std::string train = "train --config " + dir.file("t.toml") + " --print-params";
  // tok_emb 300 x 16; one block: 2 norms, wq wk wv wo 16 x 16, SwiGLU 3 x 16 x 64; final norm.
  auto small = run_lmlab(train);
  EXPECT_EQ(small.exit_code, 0) << small.err;
  EXPECT_NE(small.out.find("total_params 8944\n"), std::string::npos) << small.out;
  EXPECT_NE(small.out.find("counted_from config (model not built)"), std::string::npos) << small.out;
  // 100000 layers of d_model 4096 (2e13 parameters, 80 TB of fp32) in a process limited to 8 GB
  // of address space: printed at once, because nothing is allocated.
  auto huge = run_lmlab(train + " --set model.n_layer=100000 --set model.d_model=4096 --set model.n_head=32", "",
                        "ulimit -v 8000000; LMLAB_NO_SIZE_CHECK=1 ");
  const int64_t per_layer = 2 * 4096 + 4 * 4096 * 4096 + 3 * 4096 * 10944;  // hidden: 8/3 d rounded up to 64
  EXPECT_EQ(huge.exit_code, 0) << huge.err;
  EXPECT_NE(huge.out.find("total_params " + std::to_string(300 * 4096 + 100000 * per_layer + 4096) + "\n"),
            std::string::npos)
      << huge.out;
}
