// Document-start validation windows and their first-document mask (see doc_windows.h).
#include "lmlab/train/doc_windows.h"

#include "lmlab/common/error.h"

namespace lmlab::train {

std::vector<int64_t> document_starts(const data::TokenShard& shard, uint32_t eot, int64_t seq_len) {
  std::vector<int64_t> starts;
  const int64_t last_start = shard.size() - seq_len - 1;  // a window reads seq_len + 1 ids
  bool after_eot = true;                                   // offset 0 starts the first document
  for (int64_t i = 0; i <= last_start; ++i) {
    const bool is_eot = shard.at(i) == eot;
    if (after_eot && !is_eot) starts.push_back(i);
    after_eot = is_eot;
  }
  return starts;
}

std::vector<int64_t> document_window_starts(const data::TokenShard& shard, uint32_t eot, int64_t seq_len,
                                            int64_t count, int64_t rank, int64_t world_size) {
  const std::vector<int64_t> all = document_starts(shard, eot, seq_len);
  if (all.empty())
    throw_user_error(shard.path(), "has no document start with room for a validation window of seq_len " +
                                       std::to_string(seq_len) + " (eval.windows_at = \"doc_start\")");
  const auto available = static_cast<int64_t>(all.size());
  const int64_t n = std::min(count, available);
  std::vector<int64_t> out;
  for (int64_t k = rank; k < n; k += world_size) out.push_back(all[static_cast<size_t>(k * available / n)]);
  return out;
}

torch::Tensor first_document_mask(const torch::Tensor& targets, int64_t eot) {
  torch::Tensor is_eot = targets.eq(eot).to(torch::kInt64);  // (B, T)
  // EOTs among the targets before position i = among the inputs x_1..x_i.
  torch::Tensor before = is_eot.cumsum(1) - is_eot;          // (B, T)
  return before.eq(0);
}

}  // namespace lmlab::train
