// The classify task's model, also loaded by the HC3 encoder detector: a backbone of [model]
// family with a head on its pooled features,
//   logits = head(pooled(x))            head = Linear(d, n)  or  Linear(d, d) GELU Linear(d, n)
// Module names (backbone.*, head.*) are the checkpoint's parameter names.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "lmlab/data/batch_source.h"
#include "lmlab/model/backbone.h"

namespace lmlab::train {

class ClassifierImpl : public torch::nn::Module {
 public:
  // `mlp_head`: the frozen mode's two-layer head.
  ClassifierImpl(const ModelConfig& cfg, int64_t n_classes, bool mlp_head);

  // {"images"} or {"ids", "pad_mask"} -> (B, n_classes) logits.
  torch::Tensor forward(const data::NamedBatch& b);
  int64_t n_classes();

  std::shared_ptr<model::BackboneImpl> backbone;
  torch::nn::Sequential head{nullptr};
};
TORCH_MODULE(Classifier);

}  // namespace lmlab::train
