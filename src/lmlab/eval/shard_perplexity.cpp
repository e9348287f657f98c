// Perplexity over a token shard's windows (see shard_perplexity.h).
#include "lmlab/eval/shard_perplexity.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "lmlab/common/progress.h"
#include "lmlab/data/loader.h"
#include "lmlab/train/evaluate.h"

namespace lmlab::eval {

TaskResult shard_perplexity(const data::TokenShard& shard, const LogitsFn& logits_of, const ShardPerplexityOptions& o,
                            const std::vector<FrequencyBucket>* buckets) {
  const int64_t T = o.seq_len;
  const int64_t all = (shard.size() - 1) / std::max<int64_t>(1, T);
  const int64_t count = o.max_windows > 0 ? std::min(o.max_windows, all) : all;
  std::vector<int64_t> starts = data::eval_window_starts(shard, T, count, 0, 1);
  std::optional<BucketPerplexity> by_bucket;
  if (buckets) by_bucket.emplace(*buckets);
  double loss_sum = 0;
  int64_t tokens = 0;
  Progress progress("val " + shard.path(), static_cast<int64_t>(starts.size()) * T, "tok");
  train::for_each_window_nll(shard, starts, T, o.batch_size, o.device, logits_of,
                             [&](const torch::Tensor& targets, const torch::Tensor& window_nll) {
                               torch::Tensor y = targets.reshape({-1}), nll = window_nll.cpu().reshape({-1});  // (B*T)
                               loss_sum += nll.sum().item<double>();
                               tokens += y.size(0);
                               if (by_bucket) by_bucket->add(y, nll);
                               progress.update(tokens);
                             });
  progress.finish();
  TaskResult r{"val", static_cast<int64_t>(starts.size()), {}, ""};
  const double loss = loss_sum / static_cast<double>(std::max<int64_t>(1, tokens));
  r.metrics = {{"loss", loss}, {"perplexity", std::exp(loss)}, {"tokens", static_cast<double>(tokens)}};
  if (by_bucket) {
    for (FrequencyBucket fb : {FrequencyBucket::kHigh, FrequencyBucket::kMedium, FrequencyBucket::kLow}) {
      const BucketPerplexity::Bucket& bk = by_bucket->bucket(fb);
      r.metrics[std::string("ppl_") + bucket_name(fb)] = bk.perplexity();
      r.metrics[std::string("share_") + bucket_name(fb)] = static_cast<double>(bk.tokens) / std::max<int64_t>(1, tokens);
    }
  }
  return r;
}

}  // namespace lmlab::eval
