// The shape checks of a decoder's [model] table, shared by model::Transformer's constructor and
// the config-only parameter count (train/param_count.h), so both refuse with the same line.
#pragma once
#include "lmlab/model/model_config.h"

namespace lmlab::model {

// UserError "[model] ..." for an arch other than llama/gpt2, non-positive sizes, heads that do not
// divide d_model or n_head, an odd RoPE head dimension or a dropout outside [0, 1).
void check_decoder_shape(const ModelConfig& c);

}  // namespace lmlab::model
