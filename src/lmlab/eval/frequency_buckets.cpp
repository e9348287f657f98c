// Frequency buckets and per-bucket perplexity (rule in frequency_buckets.h).
#include "lmlab/eval/frequency_buckets.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "lmlab/common/error.h"

namespace lmlab::eval {

const char* bucket_name(FrequencyBucket b) {
  switch (b) {
    case FrequencyBucket::kHigh: return "high";
    case FrequencyBucket::kMedium: return "medium";
    case FrequencyBucket::kLow: return "low";
  }
  return "?";
}

std::vector<FrequencyBucket> assign_frequency_buckets(const std::vector<int64_t>& counts, BucketShares shares) {
  int64_t total = 0;
  for (int64_t c : counts) {
    if (c < 0) throw UserError("frequency buckets: negative token count " + std::to_string(c));
    total += c;
  }
  if (total == 0) throw UserError("frequency buckets: every training count is 0");
  std::vector<int64_t> order(counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return counts[a] > counts[b]; });
  // The tolerance keeps a share that lands exactly on 80% or 95% from flipping with rounding
  // (0.8 + 0.15 is 0.9500000000000001 in double).
  const double eps = 1e-9;
  std::vector<FrequencyBucket> bucket(counts.size(), FrequencyBucket::kLow);
  int64_t before = 0;
  for (int64_t id : order) {
    double share_before = static_cast<double>(before) / static_cast<double>(total);
    if (share_before < shares.high - eps) {
      bucket[id] = FrequencyBucket::kHigh;
    } else if (share_before < shares.high + shares.medium - eps) {
      bucket[id] = FrequencyBucket::kMedium;
    }
    before += counts[id];
  }
  return bucket;
}

std::vector<int64_t> count_tokens(const torch::Tensor& ids, int64_t vocab_size) {
  auto flat = ids.reshape({-1}).to(torch::kCPU, torch::kInt64);
  auto counts = torch::bincount(flat, /*weights=*/{}, vocab_size).to(torch::kInt64);
  TORCH_CHECK(counts.size(0) == vocab_size, "count_tokens: an id is >= vocab_size ", vocab_size);
  return std::vector<int64_t>(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + vocab_size);
}

double BucketPerplexity::Bucket::mean_loss() const {
  return tokens > 0 ? loss_sum / static_cast<double>(tokens) : std::numeric_limits<double>::quiet_NaN();
}

double BucketPerplexity::Bucket::perplexity() const { return std::exp(mean_loss()); }

BucketPerplexity::BucketPerplexity(std::vector<FrequencyBucket> bucket_of_id) : bucket_of_id_(std::move(bucket_of_id)) {}

void BucketPerplexity::add(int64_t target, double loss) {
  if (target < 0 || target >= static_cast<int64_t>(bucket_of_id_.size())) {
    throw std::out_of_range("frequency buckets: token id " + std::to_string(target) + " outside the vocabulary of " +
                            std::to_string(bucket_of_id_.size()));
  }
  Bucket& b = buckets_[static_cast<size_t>(bucket_of_id_[target])];
  b.tokens += 1;
  b.loss_sum += loss;
}

void BucketPerplexity::add(const torch::Tensor& targets, const torch::Tensor& losses) {
  TORCH_CHECK(targets.numel() == losses.numel(), "BucketPerplexity::add: targets and losses differ in size");
  auto t = targets.reshape({-1}).to(torch::kCPU, torch::kInt64).contiguous();
  auto l = losses.detach().reshape({-1}).to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t* tp = t.data_ptr<int64_t>();
  const double* lp = l.data_ptr<double>();
  for (int64_t k = 0; k < t.numel(); ++k) {
    if (tp[k] == -100) continue;  // train::kIgnoreIndex (eval does not depend on the trainer)
    add(tp[k], lp[k]);
  }
}

}  // namespace lmlab::eval
