// The evaluation of a classifier on its labelled eval files (tasks classify and adapt): each
// file is scored on its own (class_metrics.h), and over all files
//   val_loss = sum_f N_f loss_f / sum_f N_f,   acc = sum_f N_f acc_f / sum_f N_f.
// Each rank scores the records k = rank (mod world) and writes their probabilities into a zero
// (N, C) tensor, so summing over ranks gives every rank the whole set.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "lmlab/train/task.h"
#include "lmlab/train/tasks/labelled_set.h"

namespace lmlab::train {

// batch of set.batch(idx, sp) on env.device -> (B, n_classes) logits (run under env.bf16 autocast).
using BatchLogitsFn = std::function<torch::Tensor(const data::NamedBatch&)>;

// {"val_loss", "acc", "files": {name: metrics}}; a file name seen twice is keyed "index:name".
nlohmann::json evaluate_labelled_sets(const std::vector<LabelledSet>& sets, int64_t n_classes, int64_t batch_size,
                                      const EncoderSpecials& sp, TaskEnv& env, const BatchLogitsFn& logits_of);

}  // namespace lmlab::train
