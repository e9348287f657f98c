// The tasks other than lm end to end through `lmlab train` and `lmlab eval` on tiny data:
// mlm learns, classify (CNN and ViT) on the real USPS digits reaches well above chance,
// sft learns the responses, freezing leaves frozen weights (and buffers) bit-identical, an
// epoch-based run resumed after kill -9 continues exactly, and checkpoints of every task load
// in `lmlab eval` and in train.init_from (mlm -> classify).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "lmlab/common/files.h"
#include "lmlab/model/safetensors.h"
#include "testing.h"
#include "train_test_util.h"

using lmlab::test::read_jsonl;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using nlohmann::json;

namespace {

std::vector<json> evals(const std::string& run) {
  std::vector<json> out;
  for (const json& j : read_jsonl(run + "/metrics.jsonl"))
    if (j.contains("val_loss")) out.push_back(j);
  return out;
}

std::vector<json> steps(const std::string& run) {
  std::vector<json> out;
  for (json j : read_jsonl(run + "/metrics.jsonl"))
    if (j.contains("loss")) {
      for (const char* timing : {"samples_per_s", "tokens_per_s", "mfu"}) j.erase(timing);
      out.push_back(j);
    }
  return out;
}

std::string usps(const std::string& split) {
  return lmlab::data_root() + "/vision/usps/usps-" + split + "-images-idx3-float32.gz";
}

// A big-endian IDX file: `dims` then uint8 `values`.
void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((d >> s) & 0xff);
  bytes.append(values.begin(), values.end());
  lmlab::test::write_text(path, bytes);
}

// n 8x8 images of two classes (bright left half: 0, bright right half: 1) plus noise.
void write_halves(const std::string& stem, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels, labels;
  for (int i = 0; i < n; ++i) {
    int label = static_cast<int>(rng() % 2);
    labels.push_back(static_cast<uint8_t>(label));
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) pixels.push_back(static_cast<uint8_t>(((x < 4) == (label == 0) ? 150 : 0) + rng() % 100));
  }
  write_idx(stem + "-images-idx3-ubyte", {static_cast<uint32_t>(n), 8, 8}, pixels);
  write_idx(stem + "-labels-idx1-ubyte", {static_cast<uint32_t>(n)}, labels);
}

// `lmlab train` configured by --set alone (the command wants a config file).
std::string train_with(const TempDir& dir) {
  lmlab::test::write_text(dir.file("empty.toml"), "");
  return "train --config " + dir.file("empty.toml");
}

const char* kTinyCnn =
    "[run]\ntask = \"classify\"\n[model]\nfamily = \"cnn\"\n[model.image]\nsize = 8\nchannels = 1\n"
    "[model.cnn]\nchannels = [8, 16]\nblocks = 1\n";

// dir/c.toml: the tiny CNN on dir's train/test halves images, plus `rest` (its [train] ...).
void write_cnn_config(const TempDir& dir, const std::string& rest) {
  lmlab::test::write_text(dir.file("c.toml"), std::string(kTinyCnn) + "[data]\ntrain_files = [\"" +
                                                  dir.file("train-images-idx3-ubyte") + "\"]\neval_files = [\"" +
                                                  dir.file("test-images-idx3-ubyte") + "\"]\n" + rest);
}

}  // namespace

// The final evaluation a run logged, and what `lmlab eval` reports for its checkpoint.
json last_eval(const std::string& run) { return evals(run).back(); }

json eval_own(const TempDir& dir, const std::string& run, const std::string& extra = "") {
  auto r = run_lmlab("eval --checkpoint " + run + " --output " + dir.file("eval.json") + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(lmlab::test::read_text(dir.file("eval.json")));
  return j["checkpoints"][0]["results"].begin().value();
}

TEST(Tasks, MlmLossFallsAndEvalReproducesTheRunsScore) {
  TempDir dir;
  lmlab::test::write_synthetic_shards(dir, 3000);
  auto r = run_lmlab(train_with(dir) + " --set run.task=mlm --set model.family=encoder --set data.dir=" + dir.path() +
                     " --set data.seq_len=34 --set model.n_layer=2 --set model.n_head=2 --set model.d_model=64"
                     " --set model.max_seq_len=34 --set task.mlm.whole_word=false --set task.mlm.mask_ratio=0.25"
                     " --set train.steps=250 --set train.lr=3e-3 --set train.warmup_steps=20 --set train.batch_size=32"
                     " --set eval.every=50"" --set eval.windows=32 --set train.log_every=10 --set run.out_dir=" + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto e = evals(dir.file("run"));
  ASSERT_EQ(e.size(), 5u);
  EXPECT_LT(e.back()["val_loss"].get<double>(), e.front()["val_loss"].get<double>() - 0.5);
  EXPECT_GT(e.back()["acc"].get<double>(), 0.25);  // the most frequent token alone is 0.2
  json own = eval_own(dir, dir.file("run"));
  EXPECT_NEAR(own["val_loss"].get<double>(), e.back()["val_loss"].get<double>(), 1e-9);
  EXPECT_NEAR(own["acc"].get<double>(), e.back()["acc"].get<double>(), 1e-12);
}

TEST(Tasks, CnnAndVitClassifyUspsWellAboveChance) {
  if (!lmlab::file_exists(usps("train"))) GTEST_SKIP() << "no shared data";
  TempDir dir;
  const std::string common = " --set run.task=classify --set model.image.size=16 --set model.image.channels=1"
                             " --set 'data.train_files=[\"" + usps("train") + "\"]' --set 'data.eval_files=[\"" +
                             usps("test") + "\"]' --set train.batch_size=32 --set train.lr=3e-3"
                             " --set train.warmup_steps=10 --set eval.every=0 --set train.log_every=50 ";
  auto cnn = run_lmlab(train_with(dir) + common + "--set model.family=cnn --set model.cnn.channels=[8,16] "
                       "--set model.cnn.blocks=1 --set train.steps=300 --set run.out_dir=" + dir.file("cnn"));
  ASSERT_EQ(cnn.exit_code, 0) << cnn.err;
  auto vit = run_lmlab(train_with(dir) + common + "--set model.family=vit --set model.vit.patch_size=4 --set model.n_layer=2 "
                       "--set model.n_head=2 --set model.d_model=32 --set train.steps=200 --set run.out_dir=" +
                       dir.file("vit"));
  ASSERT_EQ(vit.exit_code, 0) << vit.err;
  for (const char* run : {"cnn", "vit"}) {
    json e = last_eval(dir.file(run));
    EXPECT_GT(e["acc"].get<double>(), 0.6) << run;  // chance is 0.1 (0.18 for the largest class)
    json file = e["files"]["usps-test-images-idx3-float32.gz"];
    EXPECT_EQ(file["records"], 2007) << run;
    EXPECT_DOUBLE_EQ(file["acc"].get<double>(), e["acc"].get<double>()) << run;
  }
  // The checkpoint scores the same in `lmlab eval`, on the files it names or on others.
  json own = eval_own(dir, dir.file("cnn"), "--eval-files " + usps("test"));
  EXPECT_NEAR(own["acc"].get<double>(), last_eval(dir.file("cnn"))["acc"].get<double>(), 1e-12);
}

TEST(Tasks, LinearProbeLeavesTheBackboneBitIdentical) {
  TempDir dir;
  write_halves(dir.file("train"), 64, 1);
  write_halves(dir.file("test"), 32, 2);
  write_cnn_config(dir, "[train]\nsteps = 8\nbatch_size = 8\nlr = 1e-2\nwarmup_steps = 1\ncheckpoint_every = 4\n"
                        "keep_checkpoints = 0\n[task.classify]\nmode = \"linear_probe\"\n");
  auto r = run_lmlab("train --config " + dir.file("c.toml") + " --set run.out_dir=" + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = lmlab::model::load_safetensors(dir.file("run/checkpoints/step_00000004/model.safetensors"));
  auto b = lmlab::model::load_safetensors(dir.file("run/checkpoints/step_00000008/model.safetensors"));
  ASSERT_EQ(a.size(), b.size());
  int backbone = 0, head_changed = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    if (a[i].first.rfind("backbone.", 0) == 0) {
      ++backbone;  // weights and BatchNorm statistics alike
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
    } else {
      head_changed += !torch::equal(a[i].second, b[i].second);
    }
  }
  EXPECT_GT(backbone, 10);
  EXPECT_EQ(head_changed, 2);  // head.0.weight and head.0.bias
  // The optimizer holds no state for frozen parameters.
  auto opt = lmlab::model::load_safetensors(dir.file("run/checkpoints/step_00000008/optimizer.safetensors"));
  for (const auto& [name, t] : opt) EXPECT_EQ(name.find("backbone."), std::string::npos) << name;
}

TEST(Tasks, EpochRunResumedAfterKillContinuesExactly) {
  TempDir dir;
  write_halves(dir.file("train"), 64, 3);
  write_halves(dir.file("test"), 16, 4);
  write_cnn_config(dir, "[train]\nepochs = 3\nbatch_size = 8\nlr = 1e-2\nwarmup_steps = 2\ncheckpoint_every = 4\n"
                        "log_every = 1\n[eval]\nevery = 0\nper_epoch = true\n");
  const std::string cfg = "train --config " + dir.file("c.toml") + " --set run.out_dir=";
  auto whole = run_lmlab(cfg + dir.file("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  auto killed = run_lmlab(cfg + dir.file("resumed"), "", "LMLAB_TEST_KILL_AFTER_STEP=13 ");
  EXPECT_NE(killed.exit_code, 0);
  auto resumed = run_lmlab(cfg + dir.file("resumed") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  auto s1 = steps(dir.file("whole")), s2 = steps(dir.file("resumed"));
  ASSERT_EQ(s1.size(), 24u);  // 3 epochs of 64 / 8 batches
  ASSERT_EQ(s2.size(), 24u);
  for (size_t i = 0; i < s1.size(); ++i) EXPECT_EQ(s1[i], s2[i]) << "step " << i + 1;
  EXPECT_DOUBLE_EQ(s1[7]["epoch"].get<double>(), 1.0);
  auto e1 = evals(dir.file("whole")), e2 = evals(dir.file("resumed"));
  ASSERT_EQ(e1.size(), 3u);  // one per epoch
  EXPECT_EQ(e1.back(), e2.back());
}

TEST(Tasks, SftLearnsTheResponsesAndMlmCheckpointsStartAClassifier) {
  TempDir dir;
  // Text for a tokenizer, instructions whose answer is the reversed word list, labelled texts.
  std::mt19937 rng(5);
  const std::vector<std::string> words = {"cat", "dog", "sun", "tree", "blue", "red", "fish", "bird"};
  std::string text, instructions = "[", labelled;
  for (int i = 0; i < 300; ++i) {
    std::string a = words[rng() % 8], b = words[rng() % 8];
    text += "the " + a + " and the " + b + " saw a " + a + ".\n";
    text += "Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.\n\n### Instruction:\nSwap: " + a + " " + b + "\n\n### Response:\n" + b + " " + a + "\n";
    instructions += std::string(i ? "," : "") + "{\"instruction\": \"Swap: " + a + " " + b + "\", \"input\": \"\", " +
                    "\"output\": \"" + b + " " + a + "\"}";
    labelled += "{\"text\": \"the " + a + " saw the " + b + "\", \"label\": " + std::to_string(a == "cat" || b == "cat") + "}\n";
  }
  instructions += "]";
  lmlab::test::write_text(dir.file("text.txt"), text);
  lmlab::test::write_text(dir.file("sft.json"), instructions);
  lmlab::test::write_text(dir.file("labelled.jsonl"), labelled);
  ASSERT_EQ(run_lmlab("tokenizer train --algo bpe --vocab-size 400 --input " + dir.file("text.txt") + " --output " +
                      dir.file("tok.json")).exit_code, 0);
  const std::string tiny = " --set model.n_layer=1 --set model.n_head=2 --set model.d_model=32 --set train.lr=3e-3 "
                           "--set train.warmup_steps=2 --set train.batch_size=16 --set train.log_every=5 ";
  auto sft = run_lmlab(train_with(dir) + " --set run.task=sft --set data.tokenizer=" + dir.file("tok.json") +
                       " --set 'data.train_files=[\"" + dir.file("sft.json") + "\"]' --set data.seq_len=128 "
                       "--set model.max_seq_len=128 --set task.sft.val_fraction=0.1 --set train.steps=40 "
                       "--set eval.every=20" + tiny + "--set run.out_dir=" + dir.file("sft"));
  ASSERT_EQ(sft.exit_code, 0) << sft.err;
  auto e = evals(dir.file("sft"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_LT(e[1]["val_loss"].get<double>(), e[0]["val_loss"].get<double>());
  EXPECT_EQ(e[0]["response_tokens"], e[1]["response_tokens"]);  // the same 30 held-out responses
  // Whole-word MLM on the prepared text, then a text classifier initialised from it.
  auto prep = run_lmlab("data prepare --tokenizer " + dir.file("tok.json") + " --input " + dir.file("text.txt") +
                        " --output " + dir.file("shards") + " --doc-split line --val-fraction 0.1");
  ASSERT_EQ(prep.exit_code, 0) << prep.err;
  auto mlm = run_lmlab(train_with(dir) + " --set run.task=mlm --set model.family=encoder --set data.dir=" + dir.file("shards") +
                       " --set data.seq_len=32 --set model.max_seq_len=64 --set train.steps=10 --set eval.windows=8" +
                       tiny + "--set run.out_dir=" + dir.file("mlm"));
  ASSERT_EQ(mlm.exit_code, 0) << mlm.err;
  auto cls = run_lmlab(train_with(dir) + " --set run.task=classify --set model.family=encoder --set data.tokenizer=" +
                       dir.file("tok.json") + " --set 'data.train_files=[\"" + dir.file("labelled.jsonl") +
                       "\"]' --set 'data.eval_files=[\"" + dir.file("labelled.jsonl") + "\"]' --set data.seq_len=64 "
                       "--set model.max_seq_len=64 --set train.steps=10 --set train.init_from=" + dir.file("mlm") +
                       tiny + "--set run.out_dir=" + dir.file("cls"));
  ASSERT_EQ(cls.exit_code, 0) << cls.err;
  EXPECT_NE(cls.err.find("init_from"), std::string::npos) << cls.err;
  EXPECT_NE(cls.err.find("keep their init (head."), std::string::npos) << cls.err;  // only the head is new
  EXPECT_EQ(cls.err.find("backbone.tok_emb") , std::string::npos) << cls.err;
}

TEST(Tasks, ATaskOfTheWrongFamilyOrNameIsOneClearError) {
  TempDir dir;
  lmlab::test::write_synthetic_shards(dir, 3000);
  auto wrong = run_lmlab(train_with(dir) + " --set run.task=mlm --set data.dir=" + dir.path() + " --set run.out_dir=" + dir.file("r"));
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("family = \"encoder\""), std::string::npos) << wrong.err;
  auto typo = run_lmlab(train_with(dir) + " --set run.task=clasify --set run.out_dir=" + dir.file("r"));
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("did you mean 'classify'"), std::string::npos) << typo.err;
}

TEST(Tasks, ShippedTaskConfigsParse) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(LMLAB_SOURCE_DIR) + "/configs/tasks")) {
    if (e.path().extension() != ".toml") continue;
    ++n;
    auto r = run_lmlab("train --print-config --config " + e.path().string());
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
  }
  EXPECT_GE(n, 4);
}
