// The fuda task end to end through `lmlab train` on tiny two-domain data (8x8 "halves" digits;
// the target is dimmer and noisier): every method trains and writes its results JSON with best
// and last target accuracy, C-VisDiT logs its X-VD and I-VD terms and only they, and bad
// settings stop with one clear error line and exit code 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include "testing.h"
#include "train_test_util.h"

using lmlab::test::read_jsonl;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using nlohmann::json;

namespace {

void write_idx(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((d >> s) & 0xff);
  bytes.append(values.begin(), values.end());
  lmlab::test::write_text(path, bytes);
}

// n 8x8 images of two classes (bright left half: 0, bright right half: 1) at `level` plus noise.
void write_domain(const std::string& stem, int n, int level, int noise, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> pixels, labels;
  for (int i = 0; i < n; ++i) {
    const int label = i % 2;
    labels.push_back(static_cast<uint8_t>(label));
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x)
        pixels.push_back(static_cast<uint8_t>(((x < 4) == (label == 0) ? level : 0) + static_cast<int>(rng() % noise)));
  }
  write_idx(stem + "-images-idx3-ubyte", {static_cast<uint32_t>(n), 8, 8}, pixels);
  write_idx(stem + "-labels-idx1-ubyte", {static_cast<uint32_t>(n)}, labels);
}

struct FudaRun {
  lmlab::test::RunResult r;
  std::string dir;
};

FudaRun train(const TempDir& d, const std::string& method, const std::string& extra = "") {
  const std::string out = d.file("run-" + method);
  lmlab::test::write_text(d.file("c.toml"),
                          "[run]\ntask = \"fuda\"\n[task.fuda]\nsource = \"" + d.file("src-images-idx3-ubyte") +
                              "\"\ntarget = \"" + d.file("tgt-images-idx3-ubyte") +
                              "\"\nkmeans_repeats = 1\nkmeans_iters = 5\nfeature_dim = 16\n"
                              "[model]\nfamily = \"cnn\"\n[model.image]\nsize = 8\nchannels = 1\n"
                              "[model.cnn]\nchannels = [8, 16]\nblocks = 1\n"
                              "[train]\nepochs = 3\nbatch_size = 16\nlr = 3e-3\nwarmup_steps = 2\ncheckpoint_every = 0\n"
                              "log_every = 1\n[eval]\nevery = 0\nper_epoch = true\n");
  return {run_lmlab("train --config " + d.file("c.toml") + " --set run.out_dir=" + out +
                        " --set task.fuda.method=" + method + " " + extra,
                    "", "OMP_NUM_THREADS=1 "),
          out};
}

class FudaTask : public ::testing::Test {
 protected:
  void SetUp() override {
    write_domain(dir.file("src"), 64, 200, 40, 1);
    write_domain(dir.file("tgt"), 48, 90, 90, 2);
  }
  TempDir dir;
};

TEST_F(FudaTask, EveryMethodTrainsAndWritesBestAndLastAccuracy) {
  for (const char* method : {"source_only", "pcs", "cvisdit", "xvd_only", "ivd_only"}) {
    FudaRun run = train(dir, method, "--set task.fuda.shots=2");
    ASSERT_EQ(run.r.exit_code, 0) << method << "\n" << run.r.err;
    json result = json::parse(lmlab::test::read_text(run.dir + "/fuda_result.json"));
    EXPECT_EQ(result["method"], "cvisdit");
    EXPECT_EQ(result["variant"], method);
    EXPECT_EQ(result["group"], "src-images-idx3-ubyte -> tgt-images-idx3-ubyte");
    EXPECT_EQ(result["settings"]["n_target"], 48);
    EXPECT_EQ(result["settings"]["epochs"], 3);
    const double best = result["metrics"]["best_acc"], last = result["metrics"]["last_acc"];
    EXPECT_GE(best, last);
    // Accuracy over the 48 target images, in percent, as each epoch's eval reported it.
    std::vector<double> accs;
    for (const json& j : read_jsonl(run.dir + "/metrics.jsonl"))
      if (j.contains("acc") && j.contains("val_loss")) accs.push_back(100 * j["acc"].get<double>());
    ASSERT_EQ(accs.size(), 3u) << method;  // one eval per epoch
    EXPECT_DOUBLE_EQ(last, accs.back());
    EXPECT_DOUBLE_EQ(best, *std::max_element(accs.begin(), accs.end()));
    EXPECT_NEAR(std::round(best * 48 / 100), best * 48 / 100, 1e-9);
    // Loss terms: the target update exists for every method but source_only; X-VD and I-VD
    // appear exactly where the method has them.
    bool target = false, xvd = false, ivd = false;
    for (const json& j : read_jsonl(run.dir + "/metrics.jsonl")) {
      target |= j.contains("loss_target");
      xvd |= j.contains("xvd");
      ivd |= j.contains("ivd");
    }
    const std::string m = method;
    EXPECT_EQ(target, m != "source_only") << m;
    EXPECT_EQ(xvd, m == "cvisdit" || m == "xvd_only") << m;
    EXPECT_EQ(ivd, m == "cvisdit" || m == "ivd_only") << m;
  }
}

TEST_F(FudaTask, SameSeedGivesTheSameResult) {
  FudaRun a = train(dir, "cvisdit", "--set run.seed=4 --set train.epochs=1");
  ASSERT_EQ(a.r.exit_code, 0) << a.r.err;
  const std::string first = lmlab::test::read_text(a.dir + "/fuda_result.json");
  std::filesystem::remove_all(a.dir);
  FudaRun b = train(dir, "cvisdit", "--set run.seed=4 --set train.epochs=1");
  ASSERT_EQ(b.r.exit_code, 0) << b.r.err;
  EXPECT_EQ(lmlab::test::read_text(b.dir + "/fuda_result.json"), first);
}

TEST_F(FudaTask, BadSettingsStopWithOneClearError) {
  FudaRun typo = train(dir, "cvisdt");
  EXPECT_EQ(typo.r.exit_code, 2);
  EXPECT_NE(typo.r.err.find("cvisdit"), std::string::npos) << typo.r.err;  // did you mean
  FudaRun shots = train(dir, "pcs", "--set task.fuda.shots=40");  // 32 images per class
  EXPECT_EQ(shots.r.exit_code, 2);
  EXPECT_NE(shots.r.err.find("fewer than task.fuda.shots = 40"), std::string::npos) << shots.r.err;
  FudaRun split = train(dir, "cvisdit", "--set task.fuda.target_inside_ratio=0.8");  // > inside_confidence 0.75
  EXPECT_EQ(split.r.exit_code, 2);
  EXPECT_NE(split.r.err.find("target_inside_confidence"), std::string::npos) << split.r.err;
}

}  // namespace
