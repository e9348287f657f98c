// Frequency buckets (80/15/5% of training occurrences) and per-bucket perplexity on
// hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/common/error.h"
#include "lmlab/eval/frequency_buckets.h"

namespace lmlab::eval {
namespace {

constexpr auto H = FrequencyBucket::kHigh;
constexpr auto M = FrequencyBucket::kMedium;
constexpr auto L = FrequencyBucket::kLow;

TEST(FrequencyBuckets, ExactSharesSplitAtTheBoundaries) {
  // Sorted counts 50, 30 | 10, 5 | 3, 2, 0: shares before each id 0, 50 | 80, 90 | 95, 98, 100 %.
  // Ids are shuffled so the sort matters.
  std::vector<int64_t> counts = {10, 0, 50, 2, 30, 5, 3};
  std::vector<FrequencyBucket> expected = {M, L, H, L, H, M, L};
  EXPECT_EQ(assign_frequency_buckets(counts), expected);
}

TEST(FrequencyBuckets, TheIdThatCrossesABoundaryGoesToTheMoreFrequentBucket) {
  // Shares before: 0, 70, 90, 96 %: id 1 starts below 80% so it is high (high covers 90%).
  EXPECT_EQ(assign_frequency_buckets({70, 20, 6, 4}), (std::vector<FrequencyBucket>{H, H, M, L}));
  // A single dominant token: everything else starts at >= 97% -> low; nothing is medium.
  EXPECT_EQ(assign_frequency_buckets({97, 1, 1, 1}), (std::vector<FrequencyBucket>{H, L, L, L}));
}

TEST(FrequencyBuckets, TiesAreBrokenBySmallerIdAndSharesAreOptions) {
  // Four equal counts: shares before 0, 25, 50, 75 %. With high = 50%, medium = 25%:
  // ids 0, 1 high; id 2 (50%) medium; id 3 (75%) low.
  EXPECT_EQ(assign_frequency_buckets({5, 5, 5, 5}, BucketShares{0.5, 0.25}),
            (std::vector<FrequencyBucket>{H, H, M, L}));
}

TEST(FrequencyBuckets, BadCountsAreUserErrors) {
  EXPECT_THROW(assign_frequency_buckets({0, 0}), UserError);
  EXPECT_THROW(assign_frequency_buckets({3, -1}), UserError);
}

TEST(FrequencyBuckets, CountTokensCountsEveryId) {
  auto ids = torch::tensor({3, 1, 3, 3, 0}, torch::kInt64).reshape({5, 1});
  EXPECT_EQ(count_tokens(ids, 5), (std::vector<int64_t>{1, 1, 0, 3, 0}));
}

TEST(BucketPerplexity, PerplexityIsExpOfTheMeanLossPerBucket) {
  BucketPerplexity bp({H, M, L, H});
  bp.add(0, 1.0);
  bp.add(3, 2.0);
  bp.add(1, 0.5);
  // Tensor path with an ignored position (-100) that must not count anywhere.
  bp.add(torch::tensor({2, -100, 2}, torch::kInt64), torch::tensor({3.0, 100.0, 4.0}));
  EXPECT_EQ(bp.bucket(H).tokens, 2);
  EXPECT_NEAR(bp.bucket(H).perplexity(), std::exp(1.5), 1e-9);
  EXPECT_EQ(bp.bucket(M).tokens, 1);
  EXPECT_NEAR(bp.bucket(M).perplexity(), std::exp(0.5), 1e-9);
  EXPECT_EQ(bp.bucket(L).tokens, 2);
  EXPECT_NEAR(bp.bucket(L).mean_loss(), 3.5, 1e-6);
  EXPECT_STREQ(bucket_name(M), "medium");
}

TEST(BucketPerplexity, EmptyBucketIsNanAndUnknownIdThrows) {
  BucketPerplexity bp({H, H});
  bp.add(1, 0.25);
  EXPECT_TRUE(std::isnan(bp.bucket(L).perplexity()));
  EXPECT_THROW(bp.add(2, 1.0), std::out_of_range);
}

}  // namespace
}  // namespace lmlab::eval
