// The pieces of the shared tasks against hand-computed references: MLM masking (whole words,
// the 80/10/10 split, determinism), classification metrics (AUROC by counting pairs, F1 from
// the confusion matrix), the SFT template and its response-only labels, and freezing by name.
#include <gtest/gtest.h>

#include <random>

#include "lmlab/common/error.h"
#include "lmlab/data/instructions.h"
#include "lmlab/train/engine.h"
#include "lmlab/train/losses.h"
#include "lmlab/train/tasks/class_metrics.h"
#include "lmlab/train/tasks/encoder_inputs.h"
#include "lmlab/train/tasks/mlm_masking.h"
#include "lmlab/train/tasks/sft_examples.h"

using namespace lmlab::train;

namespace {

// Words of 1-3 tokens: ids divisible by 3 start a word (like a leading-space BPE token).
std::vector<bool> every_third_starts(int64_t V) {
  std::vector<bool> ws(V);
  for (int64_t i = 0; i < V; ++i) ws[i] = i % 3 == 0;
  return ws;
}

}  // namespace

TEST(MlmMasking, WholeWordsAreMaskedTogetherAndSpecialsNever) {
  const int64_t V = 30;
  EncoderSpecials sp{V};
  std::vector<bool> ws = every_third_starts(V);
  lmlab::MlmConfig cfg;
  cfg.mask_ratio = 0.3;
  std::mt19937 rng(4);
  torch::Tensor ids = torch::empty({64, 40}, torch::kInt64);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data_ptr<int64_t>()[i] = rng() % V;
  ids.select(1, 0).fill_(sp.cls());
  ids.select(1, 39).fill_(sp.sep());
  MaskedBatch m = mask_tokens(ids, ws, sp, cfg, 7);
  auto x = m.input.accessor<int64_t, 2>();
  auto y = m.labels.accessor<int64_t, 2>();
  auto in = ids.accessor<int64_t, 2>();
  int64_t chosen = 0, as_mask = 0, unchanged = 0;
  for (int64_t b = 0; b < 64; ++b) {
    EXPECT_EQ(y[b][0], kIgnoreIndex);
    EXPECT_EQ(y[b][39], kIgnoreIndex);
    int64_t row = 0;
    for (int64_t t = 1; t < 39; ++t) {
      if (y[b][t] == kIgnoreIndex) {
        EXPECT_EQ(x[b][t], in[b][t]);
        continue;
      }
      ++row;
      EXPECT_EQ(y[b][t], in[b][t]);
      // The whole word: a continuation token is chosen iff the token before it is.
      if (!ws[in[b][t]] && t > 1) {
        EXPECT_NE(y[b][t - 1], kIgnoreIndex) << b << "," << t;
      }
      if (t + 1 < 39 && !ws[in[b][t + 1]]) {
        EXPECT_NE(y[b][t + 1], kIgnoreIndex) << b << "," << t;
      }
      as_mask += x[b][t] == sp.mask();
      unchanged += x[b][t] == in[b][t];
    }
    EXPECT_LE(row, std::llround(0.3 * 38));  // words are taken only while they fit
    EXPECT_GE(row, std::llround(0.3 * 38) - 2);
    chosen += row;
  }
  EXPECT_NEAR(static_cast<double>(as_mask) / chosen, 0.8, 0.04);
  EXPECT_NEAR(static_cast<double>(unchanged) / chosen, 0.1 + 0.1 / V, 0.03);  // kept, or random hit itself
  MaskedBatch again = mask_tokens(ids, ws, sp, cfg, 7);
  EXPECT_TRUE(torch::equal(again.input, m.input));
  EXPECT_TRUE(torch::equal(again.labels, m.labels));
  EXPECT_FALSE(torch::equal(mask_tokens(ids, ws, sp, cfg, 8).labels, m.labels));
}

TEST(MlmMasking, WithoutWholeWordsEveryTokenIsItsOwnWord) {
  EncoderSpecials sp{10};
  lmlab::MlmConfig cfg;
  cfg.whole_word = false;
  cfg.mask_ratio = 0.5;
  torch::Tensor ids = torch::arange(1, 9, torch::kInt64).view({1, 8});  // no word starts at all
  MaskedBatch m = mask_tokens(ids, std::vector<bool>(10, false), sp, cfg, 1);
  EXPECT_EQ(m.labels.ne(kIgnoreIndex).sum().item<int64_t>(), 4);
}

TEST(ClassMetrics, AurocCountsOrderedPairs) {
  torch::Tensor s = torch::tensor({0.1, 0.4, 0.35, 0.8, 0.4}), y = torch::tensor({0, 0, 1, 1, 1}, torch::kInt64);
  // positives {0.35, 0.8, 0.4} vs negatives {0.1, 0.4}: 0.35>0.1, 0.8>both, 0.4>0.1, 0.4=0.4 (1/2)
  EXPECT_DOUBLE_EQ(auroc(s, y), (1 + 2 + 1.5) / 6.0);
  EXPECT_TRUE(std::isnan(auroc(s, torch::ones({5}, torch::kInt64))));
}

TEST(ClassMetrics, AccuracyF1AndConfusion) {
  // true 0 0 1 1 1 2, predicted 0 1 1 1 0 2
  torch::Tensor probs = torch::zeros({6, 3});
  std::vector<int64_t> pred = {0, 1, 1, 1, 0, 2};
  for (int64_t i = 0; i < 6; ++i) probs[i][pred[i]] = 1;
  auto m = classification_metrics(probs, torch::tensor({0, 0, 1, 1, 1, 2}, torch::kInt64), 0.5);
  EXPECT_DOUBLE_EQ(m["acc"].get<double>(), 4.0 / 6);
  // f1: class 0 tp1 fp1 fn1 -> 0.5; class 1 tp2 fp1 fn1 -> 2/3; class 2 -> 1
  EXPECT_DOUBLE_EQ(m["f1_macro"].get<double>(), (0.5 + 2.0 / 3 + 1) / 3);
  EXPECT_EQ(m["confusion"], nlohmann::json({{1, 1, 0}, {1, 2, 0}, {0, 0, 1}}));
  EXPECT_FALSE(m.contains("auroc"));
}

TEST(SftExamples, AlpacaTemplateWithInputAndHistory) {
  lmlab::data::Instruction ex{"Add them.", "2 and 3", "5", {{"Hi", "Hello!"}}};
  SftText t = sft_text(ex);
  EXPECT_EQ(t.prompt,
            "Below is an instruction that describes a task, paired with an input that provides further context. "
            "Write a response that appropriately completes the request.\n\n### Instruction:\nHi\n\n### Response:\n"
            "Hello!\n\n### Instruction:\nAdd them.\n\n### Input:\n2 and 3\n\n### Response:\n");
  EXPECT_EQ(t.response, "5");
  EXPECT_EQ(sft_text({"Say hi.", "", "hi", {}}).prompt.rfind("Below is an instruction that describes a task. Write", 0), 0u);
}

TEST(SftExamples, LabelsCoverTheResponseOnly) {
  SftExample a{{1, 2, 3, 4, 9}, 3}, b{{5, 6, 9}, 1};  // prompt 1 2 3 | response 4 eot ; prompt 5 | 6 eot
  auto batch = sft_batch({&a, &b}, 9, true);
  EXPECT_TRUE(torch::equal(batch.at("x"), torch::tensor({{1, 2, 3, 4}, {5, 6, 9, 9}}, torch::kInt64)));
  const int64_t I = kIgnoreIndex;
  EXPECT_TRUE(torch::equal(batch.at("y"), torch::tensor(std::vector<int64_t>{I, I, 4, 9, 6, 9, I, I}).view({2, 4})));
  auto all = sft_batch({&a}, 9, false);
  EXPECT_TRUE(torch::equal(all.at("y"), torch::tensor({{2, 3, 4, 9}}, torch::kInt64)));
}

TEST(Freezing, PatternsMatchNamesAndATypoIsAnError) {
  torch::nn::Sequential m(torch::nn::Linear(2, 2), torch::nn::Linear(2, 1));
  EXPECT_EQ(matching_parameters(*m, {"0.*"}), (std::vector<std::string>{"0.weight", "0.bias"}));
  EXPECT_EQ(matching_parameters(*m, {"*.bias"}), (std::vector<std::string>{"0.bias", "1.bias"}));
  EXPECT_THROW(matching_parameters(*m, {"2.*"}), lmlab::UserError);
}

TEST(EncoderInputs, ClsTextSepPaddedWithAMask) {
  EncoderSpecials sp{50};
  std::vector<int64_t> a = {51, 7, 8, 52}, b = {51, 52};
  auto batch = pad_sequences({&a, &b}, sp);
  EXPECT_TRUE(torch::equal(batch.at("ids"), torch::tensor({{51, 7, 8, 52}, {51, 52, 50, 50}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(batch.at("pad_mask"), torch::tensor({{1, 1, 1, 1}, {1, 1, 0, 0}}, torch::kBool)));
}
