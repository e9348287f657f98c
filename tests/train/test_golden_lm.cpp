// The `lm` task reproduces, bit for bit, the loss sequence and validation losses that
// `lmlab train` produced before the training engine existed (golden/*.json, recorded at commit
// c641376 with the old hard-wired loop). Two runs pin what moved out of the loop: a LLaMA model
// with dropout and gradient accumulation (RNG order, accumulation arithmetic), and a GPT-2 model
// with MaskMoE (the token-frequency hand-off, the auxiliary loss, routing statistics).
// One thread, so the arithmetic order is fixed. LMLAB_WRITE_GOLDEN=1 re-records the files.
#include <gtest/gtest.h>

#include "testing.h"
#include "train_test_util.h"

using lmlab::test::TempDir;
using nlohmann::json;

namespace {

// The fields of metrics.jsonl and position_loss.jsonl that do not depend on timing.
json run_record(const std::string& run_dir) {
  json out = {{"steps", json::array()}, {"evals", json::array()}};
  for (json j : lmlab::test::read_jsonl(run_dir + "/metrics.jsonl")) {
    j.erase("tokens_per_s");
    j.erase("mfu");
    (j.contains("loss") ? out["steps"] : out["evals"]).push_back(j);
  }
  out["position_loss"] = lmlab::test::read_jsonl(run_dir + "/position_loss.jsonl");
  return out;
}

void check_golden(const std::string& name, const std::string& model_keys) {
  TempDir dir;
  lmlab::test::write_synthetic_shards(dir);
  lmlab::test::write_text(dir.file("g.toml"), "[run]\nseed = 5\nout_dir = \"" + dir.file("run") + "\"\n[data]\ndir = \"" +
                                                   dir.path() + "\"\nseq_len = 16\n[model]\n" + model_keys +
                                                   "[train]\nsteps = 10\nlr = 1e-2\nwarmup_steps = 3\nbatch_size = 4\n"
                                                   "grad_accum = 2\nlog_every = 1\ncheckpoint_every = 0\n"
                                                   "[eval]\nevery = 5\nwindows = 8\n");
  auto r = lmlab::test::run_lmlab("train --config " + dir.file("g.toml"), "", "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json got = run_record(dir.file("run"));
  const std::string path = std::string(LMLAB_SOURCE_DIR) + "/tests/train/golden/" + name + ".json";
  if (std::getenv("LMLAB_WRITE_GOLDEN")) lmlab::test::write_text(path, got.dump(1) + "\n");
  json want = json::parse(lmlab::test::read_text(path));
  ASSERT_EQ(got["steps"].size(), want["steps"].size());
  for (size_t i = 0; i < want["steps"].size(); ++i) EXPECT_EQ(got["steps"][i], want["steps"][i]) << "step line " << i;
  EXPECT_EQ(got["evals"], want["evals"]);
  EXPECT_EQ(got["position_loss"], want["position_loss"]);
}

}  // namespace

TEST(GoldenLm, LlamaWithDropoutAndAccumulationIsUnchanged) {
  check_golden("llama_dropout_accum", "n_layer = 2\nn_head = 2\nn_kv_head = 1\nd_model = 32\nmax_seq_len = 16\ndropout = 0.1\n");
}

TEST(GoldenLm, Gpt2MaskMoeIsUnchanged) {
  check_golden("gpt2_mask_moe",
               "arch = \"gpt2\"\nn_layer = 2\nn_head = 2\nd_model = 32\nmax_seq_len = 16\nbias = true\n"
               "[model.ffn]\ntype = \"mask_moe\"\nn_experts = 4\nmask_visible = 2\n");
}
