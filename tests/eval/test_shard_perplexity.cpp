// Perplexity over a token shard (`lmlab eval --tasks val`): equals a per-token loop over the
// windows computed independently, overall and per frequency bucket; --limit takes that many
// windows spread over the shard, as the trainer's validation does.
#include <gtest/gtest.h>

#include <cmath>

#include "lmlab/data/shards.h"
#include "lmlab/eval/shard_perplexity.h"
#include "testing.h"

using namespace lmlab::eval;

namespace {

constexpr int64_t kV = 7, kT = 5;

// Logits of one position from its input id and position: any fixed function will do.
torch::Tensor logits_at(int64_t id, int64_t t) {
  return torch::sin(torch::arange(kV, torch::kFloat32) * static_cast<float>(id + 1) + 0.3f * static_cast<float>(t));
}

torch::Tensor fake_model(const torch::Tensor& x) {  // (B, T) -> (B, T, V)
  torch::Tensor out = torch::empty({x.size(0), x.size(1), kV});
  for (int64_t b = 0; b < x.size(0); ++b)
    for (int64_t t = 0; t < x.size(1); ++t) out[b][t] = logits_at(x[b][t].item<int64_t>(), t);
  return out;
}

}  // namespace

TEST(ShardPerplexity, EqualsAPerTokenLoopOverallAndPerBucket) {
  lmlab::test::TempDir dir;
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < 23; ++i) ids.push_back((i * i + 3 * i) % kV);
  lmlab::data::write_token_shard(dir.file("val.bin"), ids, 2);
  lmlab::data::TokenShard shard(dir.file("val.bin"));
  // Buckets by hand: ids 0-1 high, 2-3 medium, the rest low.
  std::vector<FrequencyBucket> buckets = {FrequencyBucket::kHigh,   FrequencyBucket::kHigh, FrequencyBucket::kMedium,
                                          FrequencyBucket::kMedium, FrequencyBucket::kLow,  FrequencyBucket::kLow,
                                          FrequencyBucket::kLow};
  for (int64_t limit : {0, 2}) {
    const int64_t windows = limit > 0 ? limit : (23 - 1) / kT;  // 4 whole windows of 5 + 1 ids
    double sum = 0, bucket_sum[3] = {0, 0, 0};
    int64_t n = 0, bucket_n[3] = {0, 0, 0};
    for (int64_t w = 0; w < windows; ++w)
      for (int64_t t = 0; t < kT; ++t) {
        const int64_t start = w * 4 / windows * kT;  // 4 available windows, spread evenly (windows 0, 2 of 2)
        const uint32_t input = ids[start + t], target = ids[start + t + 1];
        double loss = -torch::log_softmax(logits_at(input, t), 0)[target].item<double>();
        sum += loss, ++n;
        const auto b = static_cast<size_t>(buckets[target]);
        bucket_sum[b] += loss, ++bucket_n[b];
      }
    ShardPerplexityOptions opt{kT, /*batch_size=*/3, limit, torch::kCPU};
    TaskResult r = shard_perplexity(shard, fake_model, opt, &buckets);
    EXPECT_EQ(r.task, "val");
    EXPECT_EQ(r.n, windows);
    EXPECT_EQ(r.metrics["tokens"], static_cast<double>(n));
    EXPECT_NEAR(r.metrics["loss"], sum / n, 1e-6);
    EXPECT_NEAR(r.metrics["perplexity"], std::exp(sum / n), 1e-5);
    const char* names[3] = {"high", "medium", "low"};
    for (size_t b = 0; b < 3; ++b) {
      ASSERT_GT(bucket_n[b], 0) << names[b];
      EXPECT_NEAR(r.metrics[std::string("ppl_") + names[b]], std::exp(bucket_sum[b] / bucket_n[b]), 1e-5) << names[b];
      EXPECT_NEAR(r.metrics[std::string("share_") + names[b]], static_cast<double>(bucket_n[b]) / n, 1e-12);
    }
    TaskResult plain = shard_perplexity(shard, fake_model, opt);
    EXPECT_EQ(plain.metrics.count("ppl_low"), 0u);
    EXPECT_NEAR(plain.metrics["loss"], r.metrics["loss"], 1e-12);
  }
}
