// Perplexity by training-frequency bucket, as in the MiLe paper (Su et al., arXiv 2310.19531):
// token ids sorted by training count, most frequent first, split into the "high", "medium" and
// "low" buckets that cover 80% / 15% / 5% of the training occurrences; the perplexity of each
// bucket is exp(mean loss over the evaluated targets whose id is in it).
//
// Boundary rule: an id's bucket is decided by the share of training occurrences of the ids
// BEFORE it in the sorted order (ties in count broken by smaller id first): high if that share
// is < 80%, medium if < 95%, else low. So the id that straddles a boundary goes to the more
// frequent bucket, and ids never seen in training (count 0) are always "low".
#pragma once
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::eval {

enum class FrequencyBucket : uint8_t { kHigh = 0, kMedium = 1, kLow = 2 };
constexpr size_t kNumFrequencyBuckets = 3;
const char* bucket_name(FrequencyBucket b);  // "high", "medium", "low"

struct BucketShares {
  double high = 0.80;    // share of training occurrences covered by the high bucket
  double medium = 0.15;  // the next share; the low bucket covers the rest
};

// counts[id] = occurrences of token id in the training data. Returns the bucket of every id.
// UserError if every count is 0 or a count is negative.
std::vector<FrequencyBucket> assign_frequency_buckets(const std::vector<int64_t>& counts, BucketShares shares = {});

// Token counts of a tensor of ids (any shape, int64, values in [0, vocab_size)): (vocab_size).
std::vector<int64_t> count_tokens(const torch::Tensor& ids, int64_t vocab_size);

// Accumulates (target id, loss in nats) pairs per bucket.
class BucketPerplexity {
 public:
  struct Bucket {
    int64_t tokens = 0;
    double loss_sum = 0;
    double mean_loss() const;   // NaN when empty
    double perplexity() const;  // exp(mean_loss), NaN when empty
  };

  explicit BucketPerplexity(std::vector<FrequencyBucket> bucket_of_id);

  // std::out_of_range for an id outside the vocabulary the buckets were built for.
  void add(int64_t target, double loss);
  // targets (N) int64 and per-token losses (N); targets equal to -100 (ignored) are skipped.
  void add(const torch::Tensor& targets, const torch::Tensor& losses);

  const Bucket& bucket(FrequencyBucket b) const { return buckets_[static_cast<size_t>(b)]; }

 private:
  std::vector<FrequencyBucket> bucket_of_id_;
  std::array<Bucket, kNumFrequencyBuckets> buckets_{};
};

}  // namespace lmlab::eval
