#include "lmlab/train/tasks/classifier.h"

namespace lmlab::train {

ClassifierImpl::ClassifierImpl(const ModelConfig& cfg, int64_t n_classes, bool mlp_head) {
  backbone = register_module("backbone", model::make_backbone(cfg));
  const int64_t d = backbone->feature_dim();
  head = torch::nn::Sequential();
  if (mlp_head) {
    head->push_back(torch::nn::Linear(d, d));
    head->push_back(torch::nn::GELU());
  }
  head->push_back(torch::nn::Linear(d, n_classes));
  register_module("head", head);
}

torch::Tensor ClassifierImpl::forward(const data::NamedBatch& b) {
  model::BackboneInput in;
  if (b.has("images")) in.images = b.at("images");
  if (b.has("ids")) in.ids = b.at("ids");
  if (b.has("pad_mask")) in.pad_mask = b.at("pad_mask");
  return head->forward(backbone->pooled(in));  // (B, n_classes)
}

int64_t ClassifierImpl::n_classes() { return head->children().back()->as<torch::nn::Linear>()->weight.size(0); }

}  // namespace lmlab::train
