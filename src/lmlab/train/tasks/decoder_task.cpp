// The decoder tasks' shared part (see decoder_task.h).
#include "lmlab/train/tasks/decoder_task.h"

#include <sstream>

#include "lmlab/train/autocast.h"

namespace lmlab::train {

void DecoderTask::build_decoder(const TaskEnv& env) {
  torch::manual_seed(static_cast<uint64_t>(env.exp.run.seed));
  model_ = model::Transformer(env.exp.model);
  loss_cfg_ = env.exp.train.loss;
  bf16_ = env.bf16;
  rank_mean_ = env.rank_mean;
  seq_len_ = env.exp.data.seq_len;
}

LossOutput DecoderTask::loss(const data::NamedBatch& batch) {
  const torch::Tensor& x = batch.at("x");  // (B, T)
  const torch::Tensor& y = batch.at("y");  // (B, T)
  torch::Tensor logits;
  {
    Autocast ac(bf16_);
    logits = model_->forward(x);  // (B, T, V)
  }
  LossOutput out;
  LmLossParts parts =
      lm_loss_parts(loss_cfg_, logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), y.reshape({-1}), rank_mean_);
  out.report = parts.loss;
  out.loss = parts.loss;
  out.extras["ce"] = parts.ce;  // the plain CE next to the (weighted) loss
  torch::Tensor aux = model_->aux_loss();
  if (aux.defined()) {
    out.loss = out.loss + aux;
    out.extras["aux_loss"] = aux.detach();
  }
  return out;
}

std::string DecoderTask::describe() {
  std::ostringstream out;
  out << "total_params " << model_->total_params() << "\n"
      << "active_params " << model_->active_params() << "\n"
      << "train_flops_per_token " << model_->train_flops_per_token(seq_len_) << "  (seq_len " << seq_len_ << ")\n";
  return out.str();
}

}  // namespace lmlab::train
