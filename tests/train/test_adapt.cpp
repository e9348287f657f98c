// Task "adapt" (PYRA, docs/pyra.md) end to end through `lmlab train`: a ViT pre-trained with
// classify is loaded by train.init_from, only LoRA, PYRA and the new head change, the frozen
// backbone stays bit-identical to the pre-trained weights, CSV images of another size load
// (resized), and bad input is one clear error with exit code 2.
#include <gtest/gtest.h>

#include <random>

#include "lmlab/model/safetensors.h"
#include "testing.h"
#include "train_test_util.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

void write_idx_u8(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& values) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += static_cast<char>((d >> s) & 0xff);
  bytes.append(values.begin(), values.end());
  write_text(path, bytes);
}

// n side x side images: class 0 bright on the left half, class 1 on the right, plus noise.
std::vector<std::pair<int, std::vector<int>>> halves(int n, int side, int bright, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::pair<int, std::vector<int>>> out;
  for (int i = 0; i < n; ++i) {
    int label = static_cast<int>(rng() % 2);
    std::vector<int> px;
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) px.push_back(((x < side / 2) == (label == 0) ? bright : 0) + static_cast<int>(rng() % (bright / 2 + 1)));
    out.push_back({label, px});
  }
  return out;
}

void write_idx_set(const std::string& stem, int n, unsigned seed) {
  std::vector<uint8_t> pixels, labels;
  for (const auto& [label, px] : halves(n, 8, 150, seed)) {
    labels.push_back(static_cast<uint8_t>(label));
    for (int p : px) pixels.push_back(static_cast<uint8_t>(p));
  }
  write_idx_u8(stem + "-images-idx3-ubyte", {static_cast<uint32_t>(n), 8, 8}, pixels);
  write_idx_u8(stem + "-labels-idx1-ubyte", {static_cast<uint32_t>(n)}, labels);
}

// optdigits-like rows: 16 pixels of a 4x4 image in 0..16, then the label.
void write_csv_set(const std::string& path, int n, unsigned seed) {
  std::string text;
  for (const auto& [label, px] : halves(n, 4, 10, seed)) {
    for (int p : px) text += std::to_string(p) + ",";
    text += std::to_string(label) + "\n";
  }
  write_text(path, text);
}

const char* kVit =
    "[model]\nfamily = \"vit\"\nn_layer = 2\nn_head = 2\nd_model = 16\n[model.image]\nsize = 8\nchannels = 1\n"
    "[model.vit]\npatch_size = 2\n";

}  // namespace

TEST(Adapt, OnlyLoraPyraAndHeadTrainFromThePretrainedBackbone) {
  TempDir dir;
  write_idx_set(dir.file("src-train"), 64, 1);
  write_idx_set(dir.file("src-test"), 16, 2);
  write_csv_set(dir.file("tgt.csv"), 60, 3);
  write_text(dir.file("pre.toml"), std::string("[run]\ntask = \"classify\"\n") + kVit + "[data]\ntrain_files = [\"" +
                                       dir.file("src-train-images-idx3-ubyte") + "\"]\neval_files = [\"" +
                                       dir.file("src-test-images-idx3-ubyte") + "\"]\n[train]\nsteps = 6\nbatch_size = 16\n"
                                       "lr = 3e-3\nwarmup_steps = 1\n");
  auto pre = run_lmlab("train --config " + dir.file("pre.toml") + " --set run.out_dir=" + dir.file("pre"));
  ASSERT_EQ(pre.exit_code, 0) << pre.err;
  write_text(dir.file("adapt.toml"),
             std::string("[run]\ntask = \"adapt\"\n") + kVit +
                 "tome_schedule = \"high\"\npyra = true\nlora_rank = 2\n[data]\ntrain_files = [\"" + dir.file("tgt.csv") +
                 "\"]\neval_files = [\"" + dir.file("tgt.csv") + "\"]\n[task.adapt]\ntrain_range = [0, 40]\n"
                 "eval_range = [40, 0]\n[train]\nsteps = 8\nbatch_size = 8\nlr = 1e-2\nwarmup_steps = 1\n"
                 "checkpoint_every = 4\nkeep_checkpoints = 0\ninit_from = \"" + dir.file("pre") + "\"\n");
  auto r = run_lmlab("train --config " + dir.file("adapt.toml") + " --set run.out_dir=" + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto last = lmlab::test::read_jsonl(dir.file("run/metrics.jsonl")).back();
  EXPECT_EQ(last["files"]["tgt.csv"]["records"], 20);
  EXPECT_GT(last["pyra_params"].get<int64_t>(), last["pyra_params_paper"].get<int64_t>());
  EXPECT_EQ(last["trainable_params"].get<int64_t>(),
            last["lora_params"].get<int64_t>() + last["pyra_params"].get<int64_t>() + last["head_params"].get<int64_t>());

  std::string latest = lmlab::test::read_text(dir.file("pre/checkpoints/latest"));
  latest.erase(latest.find_last_not_of(" \n") + 1);
  auto pre_w = lmlab::model::load_safetensors(dir.file("pre/checkpoints/" + latest + "/model.safetensors"));
  auto a = lmlab::model::load_safetensors(dir.file("run/checkpoints/step_00000004/model.safetensors"));
  auto b = lmlab::model::load_safetensors(dir.file("run/checkpoints/step_00000008/model.safetensors"));
  ASSERT_EQ(a.size(), b.size());
  int frozen = 0, trained = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& name = a[i].first;
    bool adapted = name.find("lora_") != std::string::npos || name.find("pyra_") != std::string::npos ||
                   name.rfind("adapt_head.", 0) == 0;
    if (!adapted) {
      ++frozen;
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << name;
      bool from_pre = false;
      for (const auto& [n, t] : pre_w) from_pre |= n == name && torch::equal(t, b[i].second);
      EXPECT_TRUE(from_pre) << name << " is not the pre-trained weight";
    } else if (name.rfind("backbone.pyra_1.", 0) == 0) {
      // The last layer merges after the CLS token's last attention: its FFN is per token, so
      // what that merge does never reaches the CLS output, and W_D, LN get no gradient.
      if (name.find("w_r") == std::string::npos) {  // w_r still decays (AdamW weight decay)
        EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << name;
      }
    } else {
      ++trained;
      EXPECT_FALSE(torch::equal(a[i].second, b[i].second)) << name << " got no update";
    }
  }
  EXPECT_GT(frozen, 10);
  EXPECT_GT(trained, 4);
}

TEST(Adapt, BadInputIsOneClearError) {
  TempDir dir;
  write_text(dir.file("bad.csv"), "1,2,3,4,0\n1,x,3,4,1\n");
  write_csv_set(dir.file("ok.csv"), 10, 4);
  const std::string base = "train --config " + dir.file("a.toml") + " --set run.out_dir=" + dir.file("run");
  write_text(dir.file("a.toml"), std::string("[run]\ntask = \"adapt\"\n") + kVit + "[data]\ntrain_files = [\"" +
                                     dir.file("bad.csv") + "\"]\neval_files = [\"" + dir.file("ok.csv") + "\"]\n");
  auto r = run_lmlab(base);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  auto range = run_lmlab(base + " --set 'data.train_files=[\"" + dir.file("ok.csv") + "\"]' --set task.adapt.train_range=[0,50]");
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.err.find("train_range"), std::string::npos) << range.err;
}
