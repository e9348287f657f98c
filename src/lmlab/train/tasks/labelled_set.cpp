// Loading labelled files for classification (see labelled_set.h).
#include "lmlab/train/tasks/labelled_set.h"

#include "lmlab/common/error.h"
#include "lmlab/data/data_check.h"
#include "lmlab/data/idx.h"
#include "lmlab/data/text_records.h"

namespace lmlab::train {

data::NamedBatch LabelledSet::batch(const std::vector<int64_t>& idx, const EncoderSpecials& sp) const {
  torch::Tensor rows = torch::tensor(idx, torch::kInt64);
  data::NamedBatch out;
  if (is_text()) {
    std::vector<const std::vector<int64_t>*> seqs;
    for (int64_t i : idx) seqs.push_back(&texts[i]);
    out = pad_sequences(seqs, sp);
  } else {
    out.tensors["images"] = images.index_select(0, rows);  // (B, C, H, W)
  }
  out.tensors["label"] = labels.index_select(0, rows);  // (B)
  return out;
}

LabelledSet load_labelled_set(const std::string& path, const tokenizer::Tokenizer* tok, const EncoderSpecials& sp,
                              int64_t max_len, bool with_cls) {
  const std::string format = data::detect_data_format(path);
  LabelledSet set;
  set.path = path;
  if (format == "idx") {
    data::ImageSet s = data::read_idx_images(path, data::idx_labels_path(path));
    set.images = s.images;
    set.labels = s.labels;
  } else if (format == "cifar10") {
    data::ImageSet s = data::read_cifar10(path);
    set.images = s.images;
    set.labels = s.labels;
  } else if (format == "text-jsonl") {
    if (!tok) throw_user_error(path, "is text: set data.tokenizer to the tokenizer.json that encodes it");
    std::vector<int64_t> labels;
    for (const auto& ex : data::read_text_jsonl(path)) {
      set.texts.push_back(encoder_sequence(*tok, ex.text, sp, max_len, with_cls));
      labels.push_back(ex.label);
    }
    set.labels = torch::tensor(labels, torch::kInt64);
  } else {
    throw_user_error(path, "is " + format + " data; classify reads IDX or CIFAR-10 images or {\"text\",\"label\"} JSONL");
  }
  if (set.size() == 0) throw_user_error(path, "holds no records");
  return set;
}

LabelledSet concat_sets(std::vector<LabelledSet> sets) {
  if (sets.size() == 1) return std::move(sets[0]);
  LabelledSet out = std::move(sets[0]);
  std::vector<torch::Tensor> images = {out.images}, labels = {out.labels};
  for (size_t i = 1; i < sets.size(); ++i) {
    LabelledSet& s = sets[i];
    if (s.is_text() != out.is_text() ||
        (!s.is_text() && s.images.sizes().slice(1) != out.images.sizes().slice(1)))
      throw_user_error(s.path, "does not match " + out.path + " (data.train_files must be of one kind and image shape)");
    for (auto& t : s.texts) out.texts.push_back(std::move(t));
    images.push_back(s.images);
    labels.push_back(s.labels);
  }
  if (!out.is_text()) out.images = torch::cat(images);
  out.labels = torch::cat(labels);
  out.path += " + " + std::to_string(sets.size() - 1) + " more";
  return out;
}

}  // namespace lmlab::train
