// A labelled file for classification, loaded whole: images (IDX, CIFAR-10 binary) or texts
// ({"text","label"} JSONL, tokenised for the encoder), with its labels. The format comes from
// the file name (data::detect_data_format).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "lmlab/data/batch_source.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/tasks/encoder_inputs.h"

namespace lmlab::train {

struct LabelledSet {
  std::string path;
  torch::Tensor images;                      // (N, C, H, W) float; undefined for text
  std::vector<std::vector<int64_t>> texts;   // [CLS] ids [SEP] per record; empty for images
  torch::Tensor labels;                      // (N) int64

  bool is_text() const { return !images.defined(); }
  int64_t size() const { return labels.size(0); }
  // {"images" | "ids" + "pad_mask", "label"} of records `idx`.
  data::NamedBatch batch(const std::vector<int64_t>& idx, const EncoderSpecials& sp) const;
};

// `tok` is needed for text files only (null otherwise: a UserError names the file and the key).
// `with_cls`: encoder_sequence's choice for texts.
LabelledSet load_labelled_set(const std::string& path, const tokenizer::Tokenizer* tok, const EncoderSpecials& sp,
                              int64_t max_len, bool with_cls = true);

// The training files as one set (same kind, images of the same shape).
LabelledSet concat_sets(std::vector<LabelledSet> sets);

}  // namespace lmlab::train
