// Batches for the engine: named tensors, the record sampler and the token-window source
// (rules in batch_source.h).
#include "lmlab/data/batch_source.h"

#include <random>
#include <stdexcept>

#include "lmlab/common/error.h"

namespace lmlab::data {

const torch::Tensor& NamedBatch::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it != tensors.end()) return it->second;
  std::string have;
  for (const auto& [n, t] : tensors) have += (have.empty() ? "" : ", ") + n;
  throw std::logic_error("batch has no field '" + name + "' (fields: " + have + ")");
}

int64_t NamedBatch::size() const { return tensors.empty() ? 0 : tensors.begin()->second.size(0); }

NamedBatch NamedBatch::to(const torch::Device& device) const {
  NamedBatch out;
  for (const auto& [name, t] : tensors) out.tensors[name] = t.to(device);
  return out;
}

RecordSampler::RecordSampler(int64_t records, int64_t batch_per_rank, uint64_t seed, int64_t rank,
                             int64_t world_size, bool shuffle)
    : records_(records), batch_(batch_per_rank), rank_(rank), world_(world_size), seed_(seed), shuffle_(shuffle) {
  if (batch_per_rank <= 0) throw UserError("data: the batch size must be positive");
  // A caller bug rather than user input: the engine derives both from the process group.
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument("RecordSampler: rank " + std::to_string(rank) + " of world size " +
                                std::to_string(world_size));
  batches_per_epoch_ = records / (batch_per_rank * world_size);
  if (batches_per_epoch_ < 1)
    throw UserError("data: " + std::to_string(records) + " records are fewer than one global batch of " +
                    std::to_string(batch_per_rank * world_size) + " (train.batch_size x ranks)");
}

const std::vector<int64_t>& RecordSampler::order(int64_t epoch) {
  if (epoch != cached_epoch_) {
    cached_order_.resize(records_);
    for (int64_t k = 0; k < records_; ++k) cached_order_[k] = k;
    if (shuffle_) {
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
      for (int64_t i = records_ - 1; i > 0; --i) std::swap(cached_order_[i], cached_order_[rng() % (i + 1)]);
    }
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

std::vector<int64_t> RecordSampler::next() {
  const int64_t epoch = batches_ / batches_per_epoch_, in_epoch = batches_ % batches_per_epoch_;
  const auto& o = order(epoch);
  const int64_t first = (in_epoch * world_ + rank_) * batch_;
  ++batches_;
  return std::vector<int64_t>(o.begin() + first, o.begin() + first + batch_);
}

nlohmann::json RecordSampler::state() const {
  return {{"batches", batches_}, {"seed", seed_}, {"records", records_}, {"global_batch", batch_ * world_},
          {"shuffle", shuffle_}};
}

void RecordSampler::restore(const nlohmann::json& s) {
  nlohmann::json mine = state();
  for (const char* key : {"seed", "records", "global_batch", "shuffle"})
    if (s.at(key) != mine.at(key))
      throw UserError(std::string("cannot resume: the checkpoint's data order has ") + key + " = " + s.at(key).dump() +
                      ", this run has " + mine.at(key).dump() + " (same data, seed and global batch needed)");
  batches_ = s.at("batches").get<int64_t>();
}

NamedBatch WindowSource::next() {
  Batch b = loader_.next();
  NamedBatch out;
  out.tensors["x"] = b.x;
  out.tensors["y"] = b.y;
  return out;
}

int64_t WindowSource::batches_per_epoch() const { return std::max<int64_t>(1, loader_.windows_per_epoch() / global_batch_); }

}  // namespace lmlab::data
