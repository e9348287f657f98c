// What the decoder tasks (lm, sft) share: model::Transformer, its training loss and counts.
//   loss = lm_loss(logits(x), y) + sum_layers aux      (logged: "loss" = lm_loss, "ce" = the plain
//                                                     cross-entropy, the same for CE, "aux_loss")
// with the forward under bf16 autocast when asked and the loss in fp32.
#pragma once
#include "lmlab/model/transformer.h"
#include "lmlab/train/task.h"

namespace lmlab::train {

class DecoderTask : public Task {
 public:
  torch::nn::Module& module() override { return *model_; }
  std::string unit() const override { return "tokens"; }
  int64_t units_per_batch(const data::NamedBatch& b) const override { return b.at("x").numel(); }
  double train_flops_per_unit() const override { return model_->train_flops_per_token(seq_len_); }
  std::string tokenizer_path() const override { return tokenizer_; }
  LossOutput loss(const data::NamedBatch& batch) override;
  std::string describe() override;  // parameters and FLOPs per token

 protected:
  // Seeds the RNG with run.seed (identical initial weights on every rank) and builds the model;
  // takes the loss, precision and sequence length from `env`.
  void build_decoder(const TaskEnv& env);

  model::Transformer model_{nullptr};
  std::string tokenizer_;
  int64_t seq_len_ = 0;
  LossConfig loss_cfg_;
  RankMean rank_mean_;
  bool bf16_ = false;
};

}  // namespace lmlab::train
