// `lmlab train --print-params` for the decoder tasks (lm, sft) from the config alone
// (param_count.h), without building the model or reading the data's tokens:
//   total_params N / active_params N / train_flops_per_token X  (seq_len T) / trainable_params N
//   counted_from config (model not built)
// model.vocab_size 0 is filled in as the task would (lm: the data's meta.json; sft: the size of
// data.tokenizer), then the size check runs, then train.freeze / train.train_only are matched
// against the parameter names as the engine matches them. Other tasks and families have no
// config-only count: describe_model (trainer.h) builds them and says so.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lmlab/train/experiment.h"

namespace lmlab::train {

// `exp` with model.vocab_size 0 filled in as the decoder tasks fill it (lm: data.dir/meta.json,
// sft: the size of data.tokenizer), reading nothing else; other tasks unchanged. The size check
// of `lmlab train` counts the embedding with it too.
Experiment with_decoder_vocab(Experiment exp);

// The text above, or nothing when this config has no config-only count.
std::optional<std::string> describe_from_config(Experiment exp);

// Names of the parameters that do not train, from (name, numel) pairs: train.freeze, and with
// train.train_only everything it does not match (the engine's rule, engine.h). UserError naming
// the key for a pattern that matches nothing.
std::vector<std::string> frozen_names(const std::vector<std::pair<std::string, int64_t>>& params,
                                      const TrainConfig& tc);

}  // namespace lmlab::train
