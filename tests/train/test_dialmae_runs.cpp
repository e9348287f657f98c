// The Dial-MAE path end to end through the command line on a tiny built set: rsel-build ->
// tokenizer -> dialmae (and plain-MLM) post-training -> retrieval from it (the response tower
// starts as a copy of the post-trained context tower; the decoder is dropped) -> `retrieve eval`
// with its results JSON and `retrieve rank` on stdin; bad TSV lines are one error naming
// file:line with exit status 2.
#include <gtest/gtest.h>

#include <filesystem>

#include "lmlab/model/safetensors.h"
#include "testing.h"
#include "train_test_util.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using nlohmann::json;

namespace {

// Questions about a word and answers naming it: a retriever can learn to match them.
void write_sources(const TempDir& dir) {
  const std::vector<std::string> words = {"cat", "dog", "sun", "tree", "blue", "red", "fish", "bird", "rain", "snow",
                                          "milk", "bread", "car", "boat", "king", "queen", "moon", "star", "lamp", "door"};
  std::string alpaca = "[", hc3;
  for (int i = 0; i < 120; ++i) {
    const std::string& a = words[i % 20];
    const std::string& b = words[(i * 7 + 3) % 20];
    const std::string s = std::to_string(i);
    alpaca += std::string(i ? "," : "") + R"({"instruction": "tell me about the )" + a + " and the " + b + " " + s +
              R"(", "input": "", "output": "the )" + a + " likes the " + b + R"("})";
    hc3 += R"({"question": "where is the )" + b + " of the " + a + " " + s + R"(", "human_answers": ["the )" + b +
           " is near the " + a + R"("]})" "\n";
  }
  lmlab::test::write_text(dir.file("alpaca.json"), alpaca + "]");
  lmlab::test::write_text(dir.file("hc3.jsonl"), hc3);
}

const char* kTiny =
    " --set model.family=encoder --set model.n_layer=1 --set model.n_head=2 --set model.d_model=32 "
    "--set model.max_seq_len=64 --set data.seq_len=32 --set train.batch_size=16 --set train.warmup_steps=2 "
    "--set train.log_every=5 --set train.checkpoint_every=0 --set task.dialmae.response_len=16 "
    "--set task.retrieval.response_len=16 ";

}  // namespace

TEST(DialMaeRuns, PostTrainFineTuneEvaluateAndRank) {
  TempDir dir;
  write_sources(dir);
  lmlab::test::write_text(dir.file("empty.toml"), "");
  auto build = run_lmlab("data rsel-build --alpaca " + dir.file("alpaca.json") + " --hc3 " + dir.file("hc3.jsonl") +
                         " --valid-dialogues 20 --test-dialogues 30 --output " + dir.file("set"));
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_NE(build.out.find("test.tsv: 30 dialogues, 300 lines"), std::string::npos) << build.out;
  ASSERT_EQ(std::system(("cut -f2- " + dir.file("set/train.tsv") + " | tr '\\t' '\\n' > " + dir.file("text.txt")).c_str()), 0);
  ASSERT_EQ(run_lmlab("tokenizer train --vocab-size 300 --input " + dir.file("text.txt") + " --output " + dir.file("tok.json")).exit_code, 0);
  const std::string data = " --set data.tokenizer=" + dir.file("tok.json") + " --set 'data.train_files=[\"" +
                           dir.file("set/train.tsv") + "\"]' --set 'data.eval_files=[\"" + dir.file("set/valid.tsv") + "\"]'";
  const std::string train = "train --config " + dir.file("empty.toml") + kTiny + data;
  auto mae = run_lmlab(train + " --set run.task=dialmae --set train.steps=6 --set run.out_dir=" + dir.file("mae"));
  ASSERT_EQ(mae.exit_code, 0) << mae.err;
  auto mae_evals = lmlab::test::read_jsonl(dir.file("mae/metrics.jsonl"));
  ASSERT_TRUE(mae_evals.back().contains("dec_loss")) << mae_evals.back().dump();
  auto mlm = run_lmlab(train + " --set run.task=dialmae --set task.dialmae.objective=mlm --set train.steps=3 "
                       "--set run.out_dir=" + dir.file("mlm"));
  ASSERT_EQ(mlm.exit_code, 0) << mlm.err;
  EXPECT_FALSE(lmlab::test::read_jsonl(dir.file("mlm/metrics.jsonl")).back().contains("dec_loss"));

  // lr 0: the retriever's towers are both exactly the post-trained encoder.
  auto frozen = run_lmlab(train + " --set run.task=retrieval --set train.steps=1 --set train.lr=0 --set train.init_from=" +
                          dir.file("mae") + " --set run.out_dir=" + dir.file("r0"));
  ASSERT_EQ(frozen.exit_code, 0) << frozen.err;
  EXPECT_NE(frozen.err.find("unused (decoder."), std::string::npos) << frozen.err;
  auto post = lmlab::model::load_safetensors(dir.file("mae/checkpoints/step_00000006/model.safetensors"));
  auto towers = lmlab::model::load_safetensors(dir.file("r0/checkpoints/step_00000001/model.safetensors"));
  std::map<std::string, torch::Tensor> byname(towers.begin(), towers.end());
  int compared = 0;
  for (const auto& [name, t] : post)
    if (name.rfind("backbone.", 0) == 0) {
      ASSERT_TRUE(byname.count(name) && byname.count("response." + name.substr(9))) << name;
      EXPECT_TRUE(byname[name].equal(t)) << name;
      EXPECT_TRUE(byname["response." + name.substr(9)].equal(t)) << name;
      ++compared;
    }
  EXPECT_GT(compared, 10);

  auto ft = run_lmlab(train + " --set run.task=retrieval --set train.steps=60 --set train.lr=3e-3 --set train.init_from=" +
                      dir.file("mae") + " --set run.out_dir=" + dir.file("ret"));
  ASSERT_EQ(ft.exit_code, 0) << ft.err;
  auto ev = run_lmlab("retrieve eval --checkpoint " + dir.file("ret") + " " + dir.file("set/test.tsv") +
                      " --output " + dir.file("m.json") + " --results-dir " + dir.file("res") + " --variant dialmae --seed 3");
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  json m = json::parse(lmlab::test::read_text(dir.file("m.json")))["set/test.tsv"];
  EXPECT_EQ(m["contexts"], 30);
  EXPECT_GT(m["r10_1"].get<double>(), 0.3) << m.dump();  // chance is 0.1
  EXPECT_LE(m["r10_1"].get<double>(), m["r10_2"].get<double>());
  EXPECT_LE(m["r10_2"].get<double>(), m["r10_5"].get<double>());
  json rec = json::parse(lmlab::test::read_text(dir.file("res/dialmae-s3-set_test_tsv.json")));
  EXPECT_EQ(rec["method"], "dialmae");
  EXPECT_EQ(rec["group"], "set/test.tsv");
  EXPECT_EQ(rec["metrics"]["r10_1"], m["r10_1"]);

  lmlab::test::write_text(dir.file("cands.txt"), "the cat likes the dog\nthe moon is near the star\nthe boat likes the king\n");
  auto rank = run_lmlab("retrieve rank --checkpoint " + dir.file("ret") + " --candidates " + dir.file("cands.txt") +
                        " --top 2", "tell me about the cat and the dog\nwhere is the star\tof the moon\n");
  ASSERT_EQ(rank.exit_code, 0) << rank.err;
  EXPECT_EQ(std::count(rank.out.begin(), rank.out.end(), '\n'), 2 * 3) << rank.out;  // 2 lines + a blank, per context

  lmlab::test::write_text(dir.file("bad.tsv"), "1\tctx\tresp\n2\tctx\tneg\n");
  auto bad = run_lmlab("retrieve eval --checkpoint " + dir.file("ret") + " " + dir.file("bad.tsv"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find(dir.file("bad.tsv") + ":2: label must be 0 or 1, got '2'"), std::string::npos) << bad.err;
  lmlab::test::write_text(dir.file("short.tsv"), "1\tonly\n");
  auto short_line = run_lmlab(train + " --set run.task=retrieval --set 'data.eval_files=[\"" + dir.file("short.tsv") +
                              "\"]' --set run.out_dir=" + dir.file("bad"));
  EXPECT_EQ(short_line.exit_code, 2);
  EXPECT_NE(short_line.err.find(dir.file("short.tsv") + ":1: expected label"), std::string::npos) << short_line.err;
}
