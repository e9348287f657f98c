// Expert-load heatmap: the load matrix read from per-layer routing stats, and a real PNG.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lmlab/analysis/expert_heatmap.h"
#include "testing.h"

namespace lmlab::analysis {
namespace {

TEST(ExpertHeatmap, LoadMatrixFromStatsSkipsDenseLayers) {
  auto stats = nlohmann::json::parse(
      R"({"layer0": {"load": [0.5, 0.25, 0.25], "entropy": 1.0}, "layer1": {}, "layer2": {"load": [0.1, 0.8, 0.1]}})");
  auto load = expert_load_from_stats(stats);
  ASSERT_EQ(load.layers, (std::vector<std::string>{"layer0", "layer2"}));
  EXPECT_DOUBLE_EQ(load.load[1][1], 0.8);
}

TEST(ExpertHeatmap, WritesAPngWithoutLeftovers) {
  lmlab::test::TempDir dir;
  ExpertLoad load{{"layer0", "layer2"}, {{0.5, 0.25, 0.25}, {0.1, 0.8, 0.1}}};
  auto png = (std::filesystem::path(dir.path()) / "load.png").string();
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot not installed";
  ASSERT_TRUE(write_expert_heatmap(load, png, "expert load"));
  std::ifstream in(png, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1);  // the data and script temporaries are gone
}

}  // namespace
}  // namespace lmlab::analysis
