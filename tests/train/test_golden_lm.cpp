// The `lm` task reproduces, bit for bit, the loss sequence and validation losses that
// `lmlab train` produced before the training engine existed (golden/*.json, recorded at commit
// c641376 with the old hard-wired loop). Two runs pin what moved out of the loop: a LLaMA model
// with dropout and gradient accumulation (RNG order, accumulation arithmetic), and a GPT-2 model
// with MaskMoE (the token-frequency hand-off, the auxiliary loss, routing statistics). The
// MaskMoE file was re-recorded when issue #19 gave the experts, router and coefficient gate the
// one init rule of model/init.h (its first loss moved, as a changed init must).
// One thread, so the arithmetic order is fixed. LMLAB_WRITE_GOLDEN=1 re-records the files.
// Every number must agree with the files to 1e-5 relative, which catches any change of what is
// computed, but not bit for bit: the last float bits depend on the CPU's BLAS kernels (an AMD
// EPYC and the recording machine differ there with the same libtorch 1.13) and on libtorch's
// attention kernels (SDPA on 2.x). What must hold bit for bit on any machine is that the same
// run twice gives the same numbers.
#include <gtest/gtest.h>

#include <torch/version.h>

#include <cmath>

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

// Same keys, equal non-numbers, numbers within `rel` (0: identical).
void expect_match(const json& got, const json& want, double rel, const std::string& where) {
  if (want.is_number() && got.is_number()) {
    const double g = got.get<double>(), w = want.get<double>();
    if (rel == 0)
      EXPECT_EQ(g, w) << where;
    else
      EXPECT_LE(std::fabs(g - w), rel * std::max(1.0, std::fabs(w))) << where << ": " << g << " vs " << w;
  } else if (want.is_object() || want.is_array()) {
    ASSERT_EQ(got.size(), want.size()) << where;
    if (want.is_object()) {
      for (const auto& [k, v] : want.items()) {
        ASSERT_TRUE(got.contains(k)) << where << "." << k;
        expect_match(got[k], v, rel, where + "." + k);
      }
    } else {
      for (size_t i = 0; i < want.size(); ++i) expect_match(got[i], want[i], rel, where + "[" + std::to_string(i) + "]");
    }
  } else {
    EXPECT_EQ(got, want) << where;
  }
}

// The record of a 10-step run of `model_keys` on the synthetic shards, one thread.
json golden_run(const TempDir& dir, const std::string& run, const std::string& model_keys) {
  lmlab::test::write_text(dir.file("g.toml"), "[run]\nseed = 5\nout_dir = \"" + dir.file(run) + "\"\n[data]\ndir = \"" +
                                                   dir.path() + "\"\nseq_len = 16\n[model]\n" + model_keys +
                                                   "[train]\nsteps = 10\nlr = 1e-2\nwarmup_steps = 3\nbatch_size = 4\n"
                                                   "grad_accum = 2\nlog_every = 1\ncheckpoint_every = 0\n"
                                                   "[eval]\nevery = 5\nwindows = 8\n");
  auto r = lmlab::test::run_lmlab("train --config " + dir.file("g.toml"), "", "OMP_NUM_THREADS=1 ");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return run_record(dir.file(run));
}

void check_golden(const std::string& name, const std::string& model_keys) {
  TempDir dir;
  lmlab::test::write_synthetic_shards(dir);
  json got = golden_run(dir, "run", model_keys);
  got["libtorch"] = TORCH_VERSION;
  const std::string path = std::string(LMLAB_SOURCE_DIR) + "/tests/train/golden/" + name + ".json";
  if (std::getenv("LMLAB_WRITE_GOLDEN")) lmlab::test::write_text(path, got.dump(1) + "\n");
  json want = json::parse(lmlab::test::read_text(path));
  json again = golden_run(dir, "again", model_keys);
  for (const char* part : {"steps", "evals", "position_loss"}) {
    expect_match(got[part], want[part], 1e-5, name + "." + part);
    expect_match(again[part], got[part], 0.0, name + " rerun." + part);
  }
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
