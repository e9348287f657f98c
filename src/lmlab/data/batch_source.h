// What the training engine draws batches from, for every task: named tensors on the CPU whose
// first dimension is the batch ("x"/"y" token windows, "image"/"label", "ids"/"mask"/"label").
//
// RecordSampler is the one rule for data sets of N records (images, JSONL lines, TSV rows):
// epoch e visits the records in its own order (Fisher-Yates on mt19937_64 seeded from
// (seed, e), the same on every platform; identity order when shuffle is off). Global batch b of
// the epoch is positions [b*R*B, (b+1)*R*B) of that order and rank r takes the slice
// [r*B, (r+1)*B), so ranks never share a record and 1 rank with batch R*B sees exactly what R
// ranks with batch B see together. The last partial global batch of an epoch is dropped
// (every step has the same size), so an epoch is floor(N / (R*B)) batches. The whole state is
// the number of batches drawn, which makes resume exact, at any point of any epoch.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/data/loader.h"

namespace lmlab::data {

struct NamedBatch {
  std::map<std::string, torch::Tensor> tensors;

  // The tensor called `name`; std::logic_error naming the fields present when it is missing.
  const torch::Tensor& at(const std::string& name) const;
  bool has(const std::string& name) const { return tensors.count(name) > 0; }
  int64_t size() const;  // first dimension of the tensors (0 when empty)
  NamedBatch to(const torch::Device& device) const;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual NamedBatch next() = 0;
  // Batches one epoch holds for this rank (all ranks have the same count).
  virtual int64_t batches_per_epoch() const = 0;
  virtual int64_t batches_drawn() const = 0;
  // JSON state for trainer.json; restore() checks the sampling parameters have not changed.
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& state) = 0;
};

class RecordSampler {
 public:
  RecordSampler(int64_t records, int64_t batch_per_rank, uint64_t seed, int64_t rank, int64_t world_size,
                bool shuffle = true);

  std::vector<int64_t> next();  // record indices of this rank's slice of the next global batch
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t batches_drawn() const { return batches_; }
  int64_t epoch() const { return batches_ / batches_per_epoch_; }  // of the next batch
  nlohmann::json state() const;  // {"batches", "seed", "records", "global_batch", "shuffle"}
  void restore(const nlohmann::json& state);

 private:
  const std::vector<int64_t>& order(int64_t epoch);

  int64_t records_, batch_, rank_, world_, batches_per_epoch_;
  uint64_t seed_;
  bool shuffle_;
  int64_t batches_ = 0, cached_epoch_ = -1;
  std::vector<int64_t> cached_order_;
};

// A RecordSampler plus the function that turns record indices into tensors (tokenising,
// padding, stacking images): every record data set of every task is one of these.
class CollatedSource : public BatchSource {
 public:
  using Collate = std::function<NamedBatch(const std::vector<int64_t>& records)>;
  CollatedSource(RecordSampler sampler, Collate collate) : sampler_(std::move(sampler)), collate_(std::move(collate)) {}

  NamedBatch next() override { return collate_(sampler_.next()); }
  int64_t batches_per_epoch() const override { return sampler_.batches_per_epoch(); }
  int64_t batches_drawn() const override { return sampler_.batches_drawn(); }
  nlohmann::json state() const override { return sampler_.state(); }
  void restore(const nlohmann::json& state) override { sampler_.restore(state); }

 private:
  RecordSampler sampler_;
  Collate collate_;
};

// Token windows of a shard (WindowLoader's rule, unchanged) as {"x", "y"}: (B, T) int64.
class WindowSource : public BatchSource {
 public:
  WindowSource(const TokenShard& shard, int64_t seq_len, int64_t batch_per_rank, uint64_t seed, int64_t rank,
               int64_t world_size)
      : loader_(shard, seq_len, batch_per_rank, seed, rank, world_size), global_batch_(batch_per_rank * world_size) {}

  NamedBatch next() override;
  int64_t batches_per_epoch() const override;
  int64_t batches_drawn() const override { return loader_.batches_drawn(); }
  nlohmann::json state() const override { return loader_.state(); }
  void restore(const nlohmann::json& state) override { loader_.restore(state); }

 private:
  WindowLoader loader_;
  int64_t global_batch_;
};

}  // namespace lmlab::data
