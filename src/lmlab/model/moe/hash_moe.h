// Hash layer (Roller et al. 2021), [model.ffn] type = "hash_moe": no learned router; a fixed
// table drawn from the seed maps each vocabulary id v to k distinct experts,
//   y_t = (1/k) sum_{i in H(v_t)} FFN_i(u_t)  (+ shared experts as in routed_moe.h),
// the same experts for every occurrence of a token. No balance loss (nothing to balance).
// The table is a buffer (saved with the model); layer l uses seed + l.
#pragma once
#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe {

class HashMoeImpl : public RoutedMoeImpl {
 public:
  HashMoeImpl(const RoutedMoeOptions& opt, int64_t vocab_size, uint64_t seed);
  torch::Tensor table;  // (vocab, k) int64

  Routing route(const torch::Tensor& u, const FfnContext& ctx) override;
};

}  // namespace lmlab::model::moe
