// Ranking data mixtures by a predicted loss: the order, Kendall's tau-b on hand-computed cases,
// and the per-seed scores of each method, including the loss-at-the-cut-off baseline.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/analysis/mixture_ranking.h"
#include "lmlab/common/error.h"

namespace lmlab::analysis {
namespace {

TEST(MixtureRanking, RankOrderIsAscendingWithStableTies) {
  EXPECT_EQ(rank_order({3.0, 1.0, 2.0}), (std::vector<size_t>{1, 2, 0}));
  EXPECT_EQ(rank_order({2.0, 1.0, 2.0, 1.0}), (std::vector<size_t>{1, 3, 0, 2}));
  EXPECT_TRUE(rank_order({}).empty());
}

TEST(MixtureRanking, KendallTauOnHandComputedCases) {
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3}, {10, 20, 30}), 1.0);
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3}, {30, 20, 10}), -1.0);
  EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3}, {10, 30, 20}), 1.0 / 3.0);  // 2 concordant, 1 discordant of 3
  // One tie in a: pairs (1,2) tied in a only; (1,3), (2,3) concordant: 2 / sqrt(2 * 3).
  EXPECT_DOUBLE_EQ(kendall_tau({1, 1, 2}, {1, 2, 3}), 2.0 / std::sqrt(6.0));
  EXPECT_TRUE(std::isnan(kendall_tau({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(kendall_tau({1}, {1})));
}

TEST(MixtureRanking, EachMethodIsScoredPerSeedAgainstTheActualOrder) {
  RankingInput in;
  // seed 1: actual b < c < a; the law gets it right, the cut-off loss picks c.
  in[1]["a"] = {{"law", 6.9}, {"cutoff", 7.0}, {"actual", 6.7}};
  in[1]["b"] = {{"law", 4.5}, {"cutoff", 5.2}, {"actual", 4.4}};
  in[1]["c"] = {{"law", 4.6}, {"cutoff", 5.1}, {"actual", 4.6}};
  // seed 2: actual b < c < a; both right.
  in[2]["a"] = {{"law", 7.1}, {"cutoff", 7.2}, {"actual", 6.8}};
  in[2]["b"] = {{"law", 4.4}, {"cutoff", 5.0}, {"actual", 4.3}};
  in[2]["c"] = {{"law", 4.7}, {"cutoff", 5.1}, {"actual", 4.5}};
  auto r = rank_candidates(in, {"law", "cutoff"}, "actual");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].best_right, 2);
  EXPECT_EQ(r[0].order_right, 2);
  EXPECT_DOUBLE_EQ(r[0].mean_tau, 1.0);
  EXPECT_EQ(r[1].best_right, 1);
  EXPECT_EQ(r[1].order_right, 1);
  EXPECT_DOUBLE_EQ(r[1].mean_tau, (1.0 / 3.0 + 1.0) / 2.0);
  EXPECT_EQ(r[1].seeds[0].order, (std::vector<std::string>{"c", "b", "a"}));
  const std::string md = ranking_markdown(r, in, "actual");
  EXPECT_NE(md.find("| cutoff | 1/2 | 1/2 | 0.67 | 1: c < b < a; 2: b < c < a |"), std::string::npos) << md;
  EXPECT_NE(md.find("| actual (actual) | | | | 1: b < c < a; 2: b < c < a |"), std::string::npos) << md;
}

TEST(MixtureRanking, AMissingMetricIsAUserErrorNamingIt) {
  RankingInput in;
  in[7]["a"] = {{"law", 1.0}, {"actual", 1.0}};
  in[7]["b"] = {{"actual", 2.0}};
  try {
    rank_candidates(in, {"law"}, "actual");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("seed 7, candidate b: no finite value of metric 'law'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmlab::analysis
