// The decoder's training loss, shared by the lm and sft tasks:
//   loss = lm_loss(logits(x), y) + sum_layers aux      (logged: "loss" = lm_loss, "aux_loss")
// the forward under bf16 autocast when asked, the loss in fp32.
#pragma once
#include "lmlab/model/transformer.h"
#include "lmlab/train/task.h"

namespace lmlab::train {

LossOutput decoder_loss(model::Transformer& model, const data::NamedBatch& batch, const LossConfig& cfg,
                        const RankMean& rank_mean, bool bf16);

}  // namespace lmlab::train
