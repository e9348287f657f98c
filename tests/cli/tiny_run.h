// A tokenizer, prepared shards and a 3-step training run with its checkpoint, metrics and
// TensorBoard files, made through the `lmlab` executable for the CLI tests (a few seconds).
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "testing.h"

namespace lmlab::test {

struct TinyRun {
  TempDir dir;
  // `vocab` tokens; run.out_dir = file("run"), data.dir = file("data"), config file("t.toml").
  // tokenizer_args go to `lmlab tokenizer train` (e.g. "--algo scaffold").
  explicit TinyRun(int vocab = 300, const std::string& tokenizer_args = "") {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "story " + std::to_string(i) + ": the cat sat on the mat.\n<|endoftext|>\n";
    write_text(file("stories.txt"), text);
    EXPECT_EQ(run_lmlab("tokenizer train --vocab-size " + std::to_string(vocab) + " --input " + file("stories.txt") +
                        " --output " + file("tok.json") + " " + tokenizer_args)
                  .exit_code,
              0);
    EXPECT_EQ(run_lmlab("data prepare --tokenizer " + file("tok.json") + " --input " + file("stories.txt") +
                        " --output " + file("data"))
                  .exit_code,
              0);
    write_text(file("t.toml"), "[run]\nout_dir = \"" + file("run") + "\"\n[data]\ndir = \"" + file("data") +
                                   "\"\nseq_len = 16\n[model]\nn_layer = 1\nn_head = 2\nd_model = 16\nmax_seq_len = 16\n"
                                   "[train]\nsteps = 3\nwarmup_steps = 1\nbatch_size = 2\n[eval]\nevery = 0\nwindows = 2\n");
    const RunResult t = run_lmlab("train --config " + file("t.toml"));
    EXPECT_EQ(t.exit_code, 0) << t.err;
  }
  std::string file(const std::string& name) const { return dir.file(name); }
  std::string path() const { return dir.path(); }
};

}  // namespace lmlab::test
