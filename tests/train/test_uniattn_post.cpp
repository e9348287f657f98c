// UniAttn's post-training path end to end on tiny data: a base lm run, `lmlab uniattn init`
// (the closed-form W_c lowers the residual-stream MSE of every reusing layer and solves the
// fit exactly on the means), a stage-1 run (train.train_only = W_c) that leaves every other
// weight bit-identical, and a stage-2 run and a CLA run from it that load and train.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "lmlab/model/safetensors.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/uniattn_init.h"
#include "testing.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;

namespace {

const char* kLayout = " --set model.attention.unify_group=2 --set model.attention.unify_begin=2";
const char* kTiny = " --set model.n_layer=4 --set model.n_head=2 --set model.d_model=32 --set model.max_seq_len=128"
                    " --set data.seq_len=96 --set train.batch_size=8 --set train.lr=3e-3 --set train.warmup_steps=2"
                    " --set train.log_every=5 ";

// Text, instructions ("Swap: a b" -> "b a") and a BPE tokenizer in `dir`.
void write_data(const TempDir& dir) {
  std::mt19937 rng(11);
  const std::vector<std::string> words = {"cat", "dog", "sun", "tree", "blue", "red", "fish", "bird"};
  std::string text, instructions = "[";
  for (int i = 0; i < 200; ++i) {
    std::string a = words[rng() % 8], b = words[rng() % 8];
    text += "the " + a + " and the " + b + " saw a " + a + ".\nBelow is an instruction that describes a task. Write a "
            "response that appropriately completes the request.\n\n### Instruction:\nSwap: " + a + " " + b +
            "\n\n### Response:\n" + b + " " + a + "\n";
    instructions += std::string(i ? "," : "") + "{\"instruction\": \"Swap: " + a + " " + b +
                    "\", \"input\": \"\", \"output\": \"" + b + " " + a + "\"}";
  }
  lmlab::test::write_text(dir.file("text.txt"), text);
  lmlab::test::write_text(dir.file("sft.json"), instructions + "]");
  ASSERT_EQ(run_lmlab("tokenizer train --algo bpe --vocab-size 300 --input " + dir.file("text.txt") + " --output " +
                      dir.file("tok.json")).exit_code, 0);
  ASSERT_EQ(run_lmlab("data prepare --tokenizer " + dir.file("tok.json") + " --input " + dir.file("text.txt") +
                      " --output " + dir.file("shards") + " --doc-split line --val-fraction 0.1").exit_code, 0);
}

std::string train(const TempDir& dir, const std::string& args) {
  lmlab::test::write_text(dir.file("empty.toml"), "");
  return "train --config " + dir.file("empty.toml") + kTiny + args;
}

std::string sft(const TempDir& dir) {
  return " --set run.task=sft --set data.tokenizer=" + dir.file("tok.json") + " --set 'data.train_files=[\"" +
         dir.file("sft.json") + "\"]' --set task.sft.val_fraction=0.1 --set eval.every=0";
}

std::map<std::string, torch::Tensor> weights(const std::string& run) {
  auto named = lmlab::train::read_checkpoint(lmlab::train::resolve_checkpoint(run)).model;
  return {named.begin(), named.end()};
}

}  // namespace

TEST(UniAttnPostTraining, InitThenStageOneTrainsOnlyWcThenStageTwoAndCla) {
  TempDir dir;
  write_data(dir);
  auto base = run_lmlab(train(dir, "--set data.dir=" + dir.file("shards") + " --set train.steps=60 --set run.out_dir=" +
                                       dir.file("base")));
  ASSERT_EQ(base.exit_code, 0) << base.err;

  lmlab::train::UniattnInitOptions o;
  o.checkpoint = dir.file("base");
  o.data = dir.file("sft.json");
  o.output = dir.file("init");
  o.samples = 64;
  o.seq_len = 24;
  o.overrides = {"model.attention.unify_group=2", "model.attention.unify_begin=2"};
  auto fits = lmlab::train::run_uniattn_init(o);
  ASSERT_EQ(fits.size(), 1u);  // SuperBlock {2, 3}: layer 3 reuses
  EXPECT_EQ(fits[0].layer, 3);
  EXPECT_GT(fits[0].mse_zero, 0.0);
  EXPECT_LT(fits[0].mse_fitted, 0.5 * fits[0].mse_zero);

  auto init = weights(dir.file("init"));
  ASSERT_TRUE(init.count("blocks.3.wc.weight"));
  EXPECT_GT(init.at("blocks.3.wc.weight").abs().sum().item<double>(), 0.0);

  auto s1 = run_lmlab(train(dir, sft(dir) + kLayout + " --set model.attention.compensation=true"
                                  " --set 'train.train_only=[\"*.wc.*\"]' --set train.steps=6 --set train.init_from=" +
                                  dir.file("init") + " --set run.out_dir=" + dir.file("s1")));
  ASSERT_EQ(s1.exit_code, 0) << s1.err;
  auto after = weights(dir.file("s1"));
  ASSERT_EQ(after.size(), init.size());
  for (const auto& [name, t] : init) {
    if (name == "blocks.3.wc.weight") EXPECT_FALSE(torch::equal(t, after.at(name))) << "W_c did not train";
    else EXPECT_TRUE(torch::equal(t, after.at(name))) << name << " changed in stage 1";
  }

  auto s2 = run_lmlab(train(dir, sft(dir) + kLayout + " --set model.attention.compensation=true --set train.steps=4"
                                  " --set train.init_from=" + dir.file("s1") + " --set run.out_dir=" + dir.file("s2")));
  ASSERT_EQ(s2.exit_code, 0) << s2.err;
  auto full = weights(dir.file("s2"));
  EXPECT_FALSE(torch::equal(full.at("blocks.0.attn.wq.weight"), after.at("blocks.0.attn.wq.weight")));

  auto cla = run_lmlab(train(dir, sft(dir) + kLayout + " --set model.attention.share=kv --set train.steps=4"
                                   " --set train.init_from=" + dir.file("base") + " --set run.out_dir=" + dir.file("cla")));
  ASSERT_EQ(cla.exit_code, 0) << cla.err;
  EXPECT_FALSE(weights(dir.file("cla")).count("blocks.3.attn.wk.weight"));

  auto zs = run_lmlab("eval --checkpoint " + dir.file("s2") + " --tasks copa --limit 4");
  EXPECT_EQ(zs.exit_code, 0) << zs.err;  // an sft checkpoint takes zero-shot tasks too
}

TEST(UniAttnPostTraining, BadLayoutIsAConfigErrorNamingTheKey) {
  TempDir dir;
  write_data(dir);
  const std::string data = " --set data.dir=" + dir.file("shards");
  auto r = run_lmlab(train(dir, data + " --set model.attention.unify_group=3 --set model.attention.unify_begin=2 --print-params"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.attention.unify_end"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("past the last layer"), std::string::npos) << r.err;
  auto typo = run_lmlab(train(dir, data + " --set model.attention.unify_grop=2 --print-params"));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("unify_group"), std::string::npos) << typo.err;
}
