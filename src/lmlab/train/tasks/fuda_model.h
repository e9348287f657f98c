// The FUDA network and the batches it trains on.
//   f = normalise(fc(pooled(backbone(x))))   (B, feature_dim), the paper's ResNet-50 + Linear(2048, 512)
//   z = CosineClassifier(f)                  (B, C)
// Its buffers are PCS's memory banks (one unit row per source / target image) and the
// pseudo-labels (-1 = none), so checkpoints carry them.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "lmlab/data/batch_source.h"
#include "lmlab/model/backbone.h"
#include "lmlab/train/tasks/pcs.h"

namespace lmlab::train {

class FudaModelImpl : public torch::nn::Module {
 public:
  FudaModelImpl(const ModelConfig& cfg, int64_t feature_dim, int64_t n_classes, double temperature, int64_t n_source,
                int64_t n_target);
  torch::Tensor features(const torch::Tensor& images);  // (B, 1, S, S) -> (B, d) unit rows
  torch::Tensor logits(const torch::Tensor& f) { return cls->forward(f); }

  std::shared_ptr<model::BackboneImpl> backbone;
  torch::nn::Linear fc{nullptr};
  CosineClassifier cls{nullptr};
  torch::Tensor bank_source, bank_target;      // (N_s, d), (N_t, d)
  torch::Tensor pseudo_source, pseudo_target;  // (N_s), (N_t) int64
};
TORCH_MODULE(FudaModel);

// One step's data: unlabelled source ("src_*"), labelled shots ("lbd_*") and target ("tgt_*")
// batches, each "<name>_images" (B, 1, S, S) and "<name>_rows" (B) (indices into the source or
// target set; the shots' rows index the source set), plus "lbd_label". An epoch is as many
// steps as the longer of the unlabelled sets has batches (PCS: max of the two loaders).
class FudaSource : public data::BatchSource {
 public:
  FudaSource(torch::Tensor source, torch::Tensor target, torch::Tensor shot_rows, torch::Tensor shot_labels,
             int64_t batch, int64_t labelled_batch, uint64_t seed);
  data::NamedBatch next() override;
  int64_t batches_per_epoch() const override;
  int64_t batches_drawn() const override { return drawn_; }
  nlohmann::json state() const override;
  void restore(const nlohmann::json& state) override;

 private:
  torch::Tensor source_, target_, shot_rows_, shot_labels_;
  data::RecordSampler src_, lbd_, tgt_;
  int64_t drawn_ = 0;
};

}  // namespace lmlab::train
