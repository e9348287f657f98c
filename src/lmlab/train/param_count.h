// The decoder's parameters counted from [model] alone, without building it (issue #23: `train
// --print-params` and the size check must not allocate the model to size it). The same
// arithmetic as model::Transformer's constructor, FFN registry and counts, tensor by tensor:
//   total  = V d [+ max_seq_len d, gpt2] [+ V d, untied] + norm + sum_l (norms + attn + ffn [+ wc])
//   attn   = d H D + 2 d Hkv D (none on a CLA layer that reuses K/V) + H D d  (+ biases)
//   ffn    = dense: 2 or 3 d h (+ biases); routed: E 3 d h_e + router d E + S 3 d h_s (+ mix 2d + 2),
//            twice plus a norm for cartesian_moe; dsmoe: 3 d h + gate d n; finedeep: 3 d h + M K d
//            routers + (M - 1) d norms
//   active = total - sum_l (ffn - ffn active)    (ffn active as each block's active_params())
//   train_flops_per_token = 3 (2 V d + sum_l (attn flops(T) + ffn flops))   (as the model's)
// Exact, name for name, for every FFN type of the registry and the "mha" attention with
// UniAttn / CLA SuperBlocks (tests/train/test_param_count.cpp builds every shipped config and
// compares). Other families are not counted here (count_decoder returns nothing).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lmlab/model/model_config.h"

namespace lmlab::train {

struct ParamCount {
  // Doubles: the size check counts absurd configs whose counts overflow int64; every model that
  // passes it is far below 2^53, where these are exact integers.
  double total = 0;
  double active = 0;
  double train_flops_per_token = 0;
  // Each parameter's name (as named_parameters() gives it) and element count, when asked for.
  std::vector<std::pair<std::string, int64_t>> names;
};

// The decoder of `m` (vocab_size filled in) at sequence length `seq_len`. Nothing for families
// other than "decoder" or attention types other than "mha". UserError for what the model's
// constructor would refuse (the same lines), so an invalid config is not counted.
// with_names: also list every parameter (O(n_layer) strings; the counts alone cost O(1) per
// distinct kind of layer, so the size check can count n_layer = 1e9).
std::optional<ParamCount> count_decoder(const ModelConfig& m, int64_t seq_len, bool with_names = false);

}  // namespace lmlab::train
