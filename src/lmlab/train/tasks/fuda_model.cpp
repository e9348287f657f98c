// The FUDA network and its step source (see fuda_model.h).
#include "lmlab/train/tasks/fuda_model.h"

#include <algorithm>

namespace lmlab::train {

FudaModelImpl::FudaModelImpl(const ModelConfig& cfg, int64_t feature_dim, int64_t n_classes, double temperature,
                             int64_t n_source, int64_t n_target) {
  backbone = register_module("backbone", model::make_backbone(cfg));
  fc = register_module("fc", torch::nn::Linear(backbone->feature_dim(), feature_dim));
  torch::nn::init::xavier_normal_(fc->weight);  // PCS's weights_init for the new fc
  torch::nn::init::zeros_(fc->bias);
  cls = register_module("cls", CosineClassifier(feature_dim, n_classes, temperature));
  bank_source = register_buffer("bank_source", torch::zeros({n_source, feature_dim}));
  bank_target = register_buffer("bank_target", torch::zeros({n_target, feature_dim}));
  pseudo_source = register_buffer("pseudo_source", torch::full({n_source}, -1, torch::kInt64));
  pseudo_target = register_buffer("pseudo_target", torch::full({n_target}, -1, torch::kInt64));
}

torch::Tensor FudaModelImpl::features(const torch::Tensor& images) {
  model::BackboneInput in;
  in.images = images;
  namespace F = torch::nn::functional;
  return F::normalize(fc->forward(backbone->pooled(in)), F::NormalizeFuncOptions().dim(1));
}

FudaSource::FudaSource(torch::Tensor source, torch::Tensor target, torch::Tensor shot_rows, torch::Tensor shot_labels,
                       int64_t batch, int64_t labelled_batch, uint64_t seed)
    : source_(std::move(source)),
      target_(std::move(target)),
      shot_rows_(std::move(shot_rows)),
      shot_labels_(std::move(shot_labels)),
      src_(source_.size(0), batch, seed * 3 + 1, 0, 1),
      lbd_(shot_rows_.size(0), std::min(labelled_batch, shot_rows_.size(0)), seed * 3 + 2, 0, 1),
      tgt_(target_.size(0), batch, seed * 3 + 3, 0, 1) {}

data::NamedBatch FudaSource::next() {
  auto rows = [](const std::vector<int64_t>& r) { return torch::tensor(r, torch::kInt64); };
  torch::Tensor s = rows(src_.next()), l = rows(lbd_.next()), t = rows(tgt_.next());
  torch::Tensor shot = shot_rows_.index_select(0, l);
  ++drawn_;
  data::NamedBatch b;
  b.tensors = {{"src_images", source_.index_select(0, s)}, {"src_rows", s},
               {"lbd_images", source_.index_select(0, shot)}, {"lbd_rows", shot},
               {"lbd_label", shot_labels_.index_select(0, l)}, {"tgt_images", target_.index_select(0, t)},
               {"tgt_rows", t}};
  return b;
}

int64_t FudaSource::batches_per_epoch() const { return std::max(src_.batches_per_epoch(), tgt_.batches_per_epoch()); }

nlohmann::json FudaSource::state() const {
  return {{"batches", drawn_}, {"source", src_.state()}, {"labelled", lbd_.state()}, {"target", tgt_.state()}};
}

void FudaSource::restore(const nlohmann::json& state) {
  src_.restore(state.at("source"));
  lbd_.restore(state.at("labelled"));
  tgt_.restore(state.at("target"));
  drawn_ = state.at("batches").get<int64_t>();
}

}  // namespace lmlab::train
