// Reports: JSON layout, the comparison table, the bar chart PNG, the samples dump.
#include <gtest/gtest.h>

#include <filesystem>

#include "lmlab/eval/report.h"
#include "testing.h"

using namespace lmlab::eval;

namespace {

std::vector<CheckpointResults> two_runs() {
  TaskResult a{"hellaswag", 10, {{"acc", 0.25}, {"acc_stderr", 0.01}, {"acc_norm", 0.3}, {"acc_norm_stderr", 0.02}}, ""};
  TaskResult b{"hellaswag", 10, {{"acc", 0.5}, {"acc_stderr", 0.03}, {"acc_norm", 0.6}, {"acc_norm_stderr", 0.04}}, ""};
  TaskResult ppl{"ppl", 1, {{"perplexity", 12.5}, {"tokens", 1000}}, ""};
  return {{"runs/dense/ckpt", 100, 256, {a, ppl}}, {"runs/moe/ckpt", 200, 256, {b}}};
}

}  // namespace

TEST(Report, JsonHasOneEntryPerCheckpoint) {
  nlohmann::json j = results_json(two_runs());
  ASSERT_EQ(j["checkpoints"].size(), 2u);
  EXPECT_EQ(j["checkpoints"][0]["checkpoint"], "runs/dense/ckpt");
  EXPECT_EQ(j["checkpoints"][0]["step"], 100);
  EXPECT_EQ(j["checkpoints"][0]["results"]["hellaswag"]["n"], 10);
  EXPECT_DOUBLE_EQ(j["checkpoints"][1]["results"]["hellaswag"]["acc_norm"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(j["checkpoints"][0]["results"]["ppl"]["perplexity"].get<double>(), 12.5);
}

TEST(Report, TableComparesCheckpointsSideBySide) {
  std::string table = results_table(two_runs());
  // Labels fall back to the full path when the last components collide ("ckpt").
  EXPECT_NE(table.find("runs/dense/ckpt"), std::string::npos) << table;
  EXPECT_NE(table.find("runs/moe/ckpt"), std::string::npos) << table;
  EXPECT_NE(table.find("0.2500 ± 0.0100"), std::string::npos) << table;
  EXPECT_NE(table.find("0.6000 ± 0.0400"), std::string::npos) << table;
  EXPECT_NE(table.find("1000"), std::string::npos) << table;
  EXPECT_EQ(table.find("acc_stderr"), std::string::npos) << table;  // folded into the acc cells
  EXPECT_EQ(table.find("note:"), std::string::npos) << table;
  // The MoE run has no ppl: its cell is "-", in the column under its label.
  size_t row = table.find("ppl        perplexity");
  ASSERT_NE(row, std::string::npos) << table;
  std::string line = table.substr(row, table.find('\n', row) - row);
  EXPECT_EQ(line.back(), '-') << table;
  EXPECT_EQ(line.size() - 1, table.find("runs/moe/ckpt")) << table;
}

TEST(Report, DifferencesFromLmEvalAreNotedOncePerTask) {
  std::vector<CheckpointResults> runs = two_runs();
  TaskResult boolq{"boolq", 5, {{"acc", 0.6}, {"acc_stderr", 0.1}}, "passages lack titles"};
  runs[0].tasks.push_back(boolq);
  runs[1].tasks.push_back(boolq);
  const std::string table = results_table(runs);
  const size_t at = table.find("note: boolq: passages lack titles\n");
  EXPECT_NE(at, std::string::npos) << table;
  EXPECT_EQ(table.find("note:", at + 1), std::string::npos) << table;
  EXPECT_EQ(results_json(runs)["checkpoints"][1]["results"]["boolq"]["note"], "passages lack titles");
}

TEST(Report, BarChartIsAPng) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot not installed";
  lmlab::test::TempDir dir;
  ASSERT_TRUE(plot_results(two_runs(), dir.file("scores.png")));
  std::string png = lmlab::test::read_text(dir.file("scores.png"));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename(), "scores.png");  // no temporary left behind
}

TEST(Report, SamplesOneLinePerRequest) {
  TaskData task{"piqa", TaskMetrics::kAccAndNorm, {Item{{Choice{{"Q", " a"}, 1}, Choice{{"Q", " bb"}, 2}}, 1}}, ""};
  std::string s = samples_jsonl(task, {{-1.0, true}, {-2.0, false}});
  auto nl = s.find('\n');
  ASSERT_NE(nl, std::string::npos);
  nlohmann::json second = nlohmann::json::parse(s.substr(nl + 1));
  EXPECT_EQ(second["choice"], 1);
  EXPECT_EQ(second["gold"], 1);
  EXPECT_EQ(second["continuation"], " bb");
  EXPECT_DOUBLE_EQ(second["logprob"].get<double>(), -2.0);
}
