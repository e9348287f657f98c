// Scores of a classifier on one labelled set, from its predicted class probabilities:
//   acc         = mean(argmax p == y)
//   f1_c        = 2 TP_c / (2 TP_c + FP_c + FN_c)            (0 when the class never occurs
//                                                              nor is predicted)
//   f1_macro    = mean_c f1_c
//   auroc       (2 classes only) = P(score of a random positive > score of a random negative),
//                 ties counting 1/2, score = p[:, 1]: the rank-sum (Mann-Whitney U) form.
//   confusion[i][j] = records of true class i predicted as j
// Binary sets also report f1_pos = f1 of class 1 (HC3's "model" class).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>

namespace lmlab::train {

// probs: (N, C) float, labels: (N) int64 in [0, C). `loss` (mean CE) is reported as "loss".
nlohmann::json classification_metrics(const torch::Tensor& probs, const torch::Tensor& labels, double loss);

// The rank-sum AUROC of `scores` (N) for binary `labels` (N); NaN without both classes.
double auroc(const torch::Tensor& scores, const torch::Tensor& labels);

}  // namespace lmlab::train
