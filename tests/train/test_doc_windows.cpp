// Document-start validation windows (eval.windows_at = "doc_start"): where the windows start,
// which positions they keep, and the per-position mean and standard error against a reference
// computed with plain loops; then a training run that records them in position_loss.jsonl.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "lmlab/common/error.h"
#include "lmlab/data/shards.h"
#include "lmlab/train/doc_windows.h"
#include "lmlab/train/evaluate.h"
#include "testing.h"
#include "train_test_util.h"

namespace lmlab::train {
namespace {

constexpr uint32_t kEot = 0;
constexpr int64_t kVocab = 12;

TEST(DocWindows, StartAtDocumentStartsWithRoomForAWindow) {
  test::TempDir dir;
  //                 0  1  2  3  4  5  6  7  8   9 10  11
  data::write_token_shard(dir.file("v.bin"), {5, 6, 0, 7, 0, 0, 8, 9, 10, 0, 11, 3}, 2);
  data::TokenShard shard(dir.file("v.bin"));
  // Offsets 0, 3, 6 start documents (5 follows an EOT but is one); 10 leaves no room for 3 ids.
  EXPECT_EQ(document_starts(shard, kEot, 2), (std::vector<int64_t>{0, 3, 6}));
  EXPECT_EQ(document_starts(shard, kEot, 1), (std::vector<int64_t>{0, 3, 6, 10}));
  EXPECT_EQ(document_window_starts(shard, kEot, 1, 2, 0, 1), (std::vector<int64_t>{0, 6}));  // 2 of 4, spread
  EXPECT_EQ(document_window_starts(shard, kEot, 1, 9, 1, 2), (std::vector<int64_t>{3, 10}));  // rank 1 of 2
  EXPECT_EQ(document_starts(shard, kEot, 11), (std::vector<int64_t>{0}));  // 12 ids: exactly the shard
  EXPECT_THROW(document_window_starts(shard, kEot, 12, 4, 0, 1), UserError);
}

TEST(DocWindows, MaskKeepsPositionsUpToTheFirstDocumentsEnd) {
  // Targets 7 0 5 0: position 0 predicts 7, position 1 the document's EOT (kept), positions 2
  // and 3 have that EOT among their inputs (dropped). The second window's document fills it.
  torch::Tensor y = torch::tensor({7, 0, 5, 0, 1, 2, 3, 4}, torch::kInt64).reshape({2, 4});  // (B, T)
  torch::Tensor m = first_document_mask(y, kEot).to(torch::kInt64).contiguous();
  std::vector<int64_t> got(m.data_ptr<int64_t>(), m.data_ptr<int64_t>() + 8);
  EXPECT_EQ(got, (std::vector<int64_t>{1, 1, 0, 0, 1, 1, 1, 1}));
}

// Documents of random lengths 1..12 over ids 1..11, each followed by the EOT.
std::vector<uint32_t> random_documents(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> ids;
  while (ids.size() < n) {
    const unsigned len = 1 + rng() % 12;
    for (unsigned k = 0; k < len; ++k) ids.push_back(1 + rng() % (kVocab - 1));
    ids.push_back(kEot);
  }
  return ids;
}

TEST(DocWindows, PerPositionMeanAndStandardErrorMatchAPlainLoopReference) {
  test::TempDir dir;
  const std::vector<uint32_t> ids = random_documents(3000, 4);
  data::write_token_shard(dir.file("v.bin"), ids, 2);
  data::TokenShard shard(dir.file("v.bin"));
  const int64_t T = 8;
  torch::manual_seed(1);
  torch::Tensor table = torch::randn({kVocab, kVocab});  // logits of the next id given the current one
  auto logits_of = [&](const torch::Tensor& x) { return table.index({x}); };  // (B, T) -> (B, T, V)
  EvalWindows w{document_window_starts(shard, kEot, T, 100, 0, 1), kEot};
  ASSERT_EQ(w.starts.size(), 100u);
  EvalResult r = evaluate_window_set(shard, T, w, 7, torch::kCPU, logits_of, [](std::vector<torch::Tensor>&) {});

  // Reference: every kept (window, position) in double precision, then mean and sample sd.
  std::vector<std::vector<double>> kept(T);
  auto t = table.accessor<float, 2>();
  for (int64_t s : w.starts) {
    EXPECT_TRUE(s == 0 || ids[static_cast<size_t>(s - 1)] == kEot);
    for (int64_t i = 0; i < T; ++i) {
      bool inside = true;
      for (int64_t k = 1; k <= i; ++k) inside = inside && ids[static_cast<size_t>(s + k)] != kEot;
      if (!inside) break;
      const uint32_t x = ids[static_cast<size_t>(s + i)], y = ids[static_cast<size_t>(s + i + 1)];
      double z = 0;
      for (int64_t v = 0; v < kVocab; ++v) z += std::exp(static_cast<double>(t[x][v]));
      kept[static_cast<size_t>(i)].push_back(std::log(z) - t[x][y]);
    }
  }
  double loss = 0;
  for (int64_t i = 0; i < T; ++i) {
    const auto& v = kept[static_cast<size_t>(i)];
    const double n = static_cast<double>(v.size());
    double mean = 0, ss = 0;
    for (double l : v) mean += l / n;
    for (double l : v) ss += (l - mean) * (l - mean);
    EXPECT_EQ(r.position_count[static_cast<size_t>(i)], static_cast<int64_t>(v.size())) << i;
    EXPECT_NEAR(r.position_loss[static_cast<size_t>(i)], mean, 1e-5) << i;
    EXPECT_NEAR(r.position_se[static_cast<size_t>(i)], std::sqrt(ss / (n - 1) / n), 1e-5) << i;
    loss += mean / T;
  }
  EXPECT_EQ(r.position_count[0], 100);                 // position 0 is always inside
  EXPECT_LT(r.position_count[T - 1], r.position_count[0]);  // short documents drop out
  EXPECT_NEAR(r.loss, loss, 1e-5);
  EXPECT_EQ(r.windows, 100);

  // Spread windows keep every position: the same function with no mask is evaluate_windows.
  EvalResult spread = evaluate_windows(shard, T, 50, 0, 1, 7, torch::kCPU, logits_of, [](std::vector<torch::Tensor>&) {});
  EXPECT_EQ(spread.position_count, std::vector<int64_t>(T, 50));
}

TEST(DocWindows, ATrainingRunRecordsTheNoisePerPosition) {
  test::TempDir dir;
  test::write_synthetic_shards(dir);  // documents of 4 ids + EOT 63
  test::write_text(dir.file("t.toml"), "[data]\ndir = \"" + dir.path() + "\"\nseq_len = 4\n[model]\nn_layer = 1\nn_head = 2\n"
                                       "d_model = 16\nmax_seq_len = 4\n[train]\nsteps = 4\nbatch_size = 4\n"
                                       "checkpoint_every = 0\n[eval]\nevery = 2\nwindows = 40\nwindows_at = \"doc_start\"\n");
  auto r = test::run_lmlab("train --config " + dir.file("t.toml") + " --set run.out_dir=" + dir.file("run"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = test::read_jsonl(dir.file("run/position_loss.jsonl"));
  ASSERT_EQ(lines.size(), 2u);  // steps 2 and 4
  EXPECT_EQ(lines.back()["step"], 4);
  for (const auto& l : lines) {
    EXPECT_EQ(l["windows_at"], "doc_start");
    EXPECT_EQ(l["position_count"], (std::vector<int64_t>(4, 40)));  // every document fills the window
    ASSERT_EQ(l["position_se"].size(), 4u);
    for (double se : l["position_se"]) EXPECT_GT(se, 0.0);
  }
}

}  // namespace
}  // namespace lmlab::train
