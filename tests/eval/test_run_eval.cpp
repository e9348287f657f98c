// eval::run_eval, the loop behind `lmlab eval`, on a tiny hand-written checkpoint: its results
// are what the command prints and writes, its val loss is the trainer's validation loss over
// the same windows, and bad options are UserErrors before any model is loaded.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/data/shards.h"
#include "lmlab/eval/run_eval.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/evaluate.h"
#include "lmlab/train/model_state.h"
#include "testing.h"

using lmlab::eval::EvalRunOptions;
using lmlab::test::TempDir;

namespace {

constexpr int64_t kVocab = 16, kSeqLen = 8;

// Training ids with skewed counts (id k appears 12 - k times per cycle, ids 12..15 never), so
// every frequency bucket is populated; validation ids cycle through the whole vocabulary.
std::vector<uint32_t> train_ids(size_t n) {
  std::vector<uint32_t> ids;
  while (ids.size() < n)
    for (uint32_t k = 0; k < 12; ++k) ids.insert(ids.end(), 12 - k, k);
  ids.resize(n);
  return ids;
}

std::vector<uint32_t> val_ids(size_t n) {
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(static_cast<uint32_t>((i * 7 + 3) % kVocab));
  return ids;
}

// A data directory (train and val shards) and a run with one checkpoint of an untrained model.
struct TinyRun {
  TempDir dir;
  lmlab::Experiment exp;
  lmlab::model::Transformer model{nullptr};
  TinyRun() {
    lmlab::data::write_token_shard(dir.file("train.bin"), train_ids(400), 2);
    lmlab::data::write_token_shard(dir.file("val.bin"), val_ids(200), 2);
    lmlab::test::write_text(dir.file("meta.json"),
                            R"({"vocab_size": 16, "eot_id": 15, "train": {"file": "train.bin"}, "val": {"file": "val.bin"}})");
    const std::string toml = "[data]\ndir = \"" + dir.path() + "\"\nseq_len = 8\n[model]\nvocab_size = 16\n" +
                             "n_layer = 1\nn_head = 2\nd_model = 16\nmax_seq_len = 8\n";
    lmlab::config::apply_toml_text(lmlab::config::Schema::of(exp), toml, "tiny.toml");
    torch::manual_seed(7);
    model = lmlab::model::Transformer(exp.model);
    model->eval();
    lmlab::train::CheckpointData d{toml, lmlab::train::model_state(*model), {}, {{"step", 5}}, ""};
    lmlab::train::write_checkpoint(dir.file("run"), 5, d, 0);
  }
};

EvalRunOptions val_options(std::vector<std::string> checkpoints) {
  EvalRunOptions o;
  o.checkpoints = std::move(checkpoints);
  o.tasks = {"val"};
  o.limit = 6;
  o.batch_size = 4;
  o.device = "cpu";
  return o;
}

}  // namespace

TEST(RunEval, ResultsAreWhatTheCommandPrintsAndWrites) {
  TinyRun t;
  const std::string run = t.dir.file("run"), ckpt = run + "/checkpoints/step_00000005";
  EvalRunOptions o = val_options({run, ckpt});
  lmlab::eval::EvalRun r = lmlab::eval::run_eval(o);
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].step, 5);
  EXPECT_EQ(r.runs[0].max_length, kSeqLen);
  ASSERT_EQ(r.runs[0].tasks.size(), 1u);
  EXPECT_EQ(r.runs[0].tasks[0].task, "val");
  EXPECT_EQ(r.runs[0].tasks[0].n, 6);
  for (const char* share : {"share_high", "share_medium", "share_low"})  // no NaN perplexity to compare
    EXPECT_GT(r.runs[0].tasks[0].metrics.at(share), 0.0) << share;
  EXPECT_EQ(r.runs[0].tasks[0].metrics, r.runs[1].tasks[0].metrics);  // a run dir means its latest checkpoint

  auto cli = lmlab::test::run_lmlab("eval --checkpoint " + run + "," + ckpt +
                                    " --tasks val --limit 6 --batch-size 4 --device cpu --output " + t.dir.file("e.json"));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, lmlab::eval::results_table(r.runs));
  EXPECT_EQ(nlohmann::json::parse(lmlab::test::read_text(t.dir.file("e.json"))), lmlab::eval::eval_run_json(r, o));
}

TEST(RunEval, ValLossIsTheTrainersValidationLoss) {
  TinyRun t;
  lmlab::eval::EvalRun r = lmlab::eval::run_eval(val_options({t.dir.file("run")}));
  lmlab::data::TokenShard val(t.dir.file("val.bin"));
  lmlab::train::EvalResult trainer = lmlab::train::evaluate_windows(
      val, kSeqLen, 6, 0, 1, 4, torch::kCPU, [&](const torch::Tensor& x) { return t.model->forward(x); },
      [](std::vector<torch::Tensor>&) {});
  EXPECT_EQ(trainer.windows, 6);
  EXPECT_NEAR(r.runs[0].tasks[0].metrics.at("loss"), trainer.loss, 1e-12);  // same windows, summed in another order
}

TEST(RunEval, BadOptionsAreUserErrors) {
  auto message_of = [](const EvalRunOptions& o) {
    try {
      lmlab::eval::run_eval(o);
    } catch (const lmlab::UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EvalRunOptions o = val_options({"nowhere"});
  o.tasks = {"val", "hellaswg"};
  EXPECT_NE(message_of(o).find("unknown task 'hellaswg' (did you mean 'hellaswag'?)"), std::string::npos);
  o = val_options({"a", "b"});
  o.samples = true;
  EXPECT_NE(message_of(o).find("--samples works with one checkpoint"), std::string::npos);
  EXPECT_NE(message_of(val_options({})).find("at least one checkpoint"), std::string::npos);
  o = val_options({"nowhere"});
  o.device = "gpu";
  EXPECT_NE(message_of(o).find("unknown device 'gpu'"), std::string::npos);
  EXPECT_NE(message_of(val_options({"nowhere"})).find("nowhere"), std::string::npos);
}
