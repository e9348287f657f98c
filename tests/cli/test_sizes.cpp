// Issue #23 class 3 through the command line: an absurd size is refused with one line naming
// the key, before a model is built (it used to be OOM-killed or die in the allocator), by both
// `train` and `train --print-params`.
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
