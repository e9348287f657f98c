// Reproducible window sampling across data-parallel ranks (scheme in loader.h).
#include "lmlab/data/loader.h"

#include <random>

#include "lmlab/common/error.h"

namespace lmlab::data {

WindowLoader::WindowLoader(const TokenShard& shard, int64_t seq_len, int64_t batch_per_rank, uint64_t seed,
                           int64_t rank, int64_t world_size)
    : shard_(shard), seq_len_(seq_len), batch_(batch_per_rank), rank_(rank), world_(world_size), seed_(seed) {
  if (seq_len <= 0 || batch_per_rank <= 0) throw UserError("data: seq_len and batch size must be positive");
  windows_ = (shard.size() - seq_len) / seq_len;
  if (windows_ < 1)
    throw_user_error(shard.path(), "has " + std::to_string(shard.size()) + " tokens; training windows of seq_len " +
                                       std::to_string(seq_len) + " need at least " + std::to_string(2 * seq_len));
}

const std::vector<int64_t>& WindowLoader::order(int64_t epoch) {
  if (epoch != cached_epoch_) {
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch));
    cached_phase_ = static_cast<int64_t>(rng() % static_cast<uint64_t>(seq_len_));
    cached_order_.resize(windows_);
    for (int64_t k = 0; k < windows_; ++k) cached_order_[k] = k;
    for (int64_t i = windows_ - 1; i > 0; --i) std::swap(cached_order_[i], cached_order_[rng() % (i + 1)]);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

int64_t WindowLoader::window_start(int64_t g) {
  const auto& o = order(g / windows_);
  return cached_phase_ + o[g % windows_] * seq_len_;
}

Batch WindowLoader::next() {
  std::vector<int64_t> starts;
  int64_t first = (batches_ * world_ + rank_) * batch_;
  for (int64_t j = 0; j < batch_; ++j) starts.push_back(window_start(first + j));
  ++batches_;
  return windows_at(shard_, starts, seq_len_);
}

nlohmann::json WindowLoader::state() const {
  return {{"batches", batches_}, {"seed", seed_}, {"seq_len", seq_len_}, {"global_batch", batch_ * world_}};
}

void WindowLoader::restore(const nlohmann::json& s) {
  if (s.at("seed").get<uint64_t>() != seed_ || s.at("seq_len").get<int64_t>() != seq_len_ ||
      s.at("global_batch").get<int64_t>() != batch_ * world_)
    throw UserError("cannot resume: the checkpoint's data order (seed " + s.at("seed").dump() + ", seq_len " +
                    s.at("seq_len").dump() + ", global batch " + s.at("global_batch").dump() +
                    ") differs from this run's (seed " + std::to_string(seed_) + ", seq_len " +
                    std::to_string(seq_len_) + ", global batch " + std::to_string(batch_ * world_) + ")");
  batches_ = s.at("batches").get<int64_t>();
}

Batch windows_at(const TokenShard& shard, const std::vector<int64_t>& starts, int64_t seq_len) {
  const int64_t B = static_cast<int64_t>(starts.size());
  torch::Tensor buf = torch::empty({B, seq_len + 1}, torch::kInt64);  // (B, T+1)
  int64_t* p = buf.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) shard.read(starts[b], seq_len + 1, p + b * (seq_len + 1));
  return {buf.narrow(1, 0, seq_len).contiguous(), buf.narrow(1, 1, seq_len).contiguous()};
}

std::vector<int64_t> eval_window_starts(const TokenShard& shard, int64_t seq_len, int64_t count, int64_t rank,
                                        int64_t world_size) {
  int64_t available = (shard.size() - 1) / seq_len;
  if (available < 1)
    throw_user_error(shard.path(), "has " + std::to_string(shard.size()) + " tokens, too few for one validation window of seq_len " +
                                       std::to_string(seq_len));
  const int64_t n = std::min(count, available);
  std::vector<int64_t> out;
  for (int64_t k = rank; k < n; k += world_size) out.push_back(k * available / n * seq_len);
  return out;
}

}  // namespace lmlab::data
