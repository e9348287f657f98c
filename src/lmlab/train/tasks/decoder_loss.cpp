#include "lmlab/train/tasks/decoder_loss.h"

#include "lmlab/train/autocast.h"

namespace lmlab::train {

LossOutput decoder_loss(model::Transformer& model, const data::NamedBatch& batch, const LossConfig& cfg,
                        const RankMean& rank_mean, bool bf16) {
  const torch::Tensor& x = batch.at("x");  // (B, T)
  const torch::Tensor& y = batch.at("y");  // (B, T)
  torch::Tensor logits;
  {
    Autocast ac(bf16);
    logits = model->forward(x);  // (B, T, V)
  }
  LossOutput out;
  out.report = lm_loss(cfg, logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), y.reshape({-1}), rank_mean);
  out.loss = out.report;
  torch::Tensor aux = model->aux_loss();
  if (aux.defined()) {
    out.loss = out.loss + aux;
    out.extras["aux_loss"] = aux.detach();
  }
  return out;
}

}  // namespace lmlab::train
