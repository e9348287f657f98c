// Zero-shot detection from LM statistics (GLTR family, Gehrmann et al. 2019), under our own LM:
//   ids = [eot] encode(text)[:max_tokens];  for t = 1..T-1:
//     logp_t = log softmax(logits_{t-1})[ids_t],   rank_t = 1 + #{v : logits_{t-1,v} > logits_{t-1,ids_t}}
//   loglik  = mean_t logp_t          logrank = mean_t log rank_t
// Model-written text is less surprising to an LM: higher loglik, lower logrank. The direction
// (sign) and the threshold are chosen on the validation texts (best accuracy), and
//   P(model) = sigmoid(sign (s - threshold) / scale),   scale = sd of s on validation.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lmlab/detect/hc3_data.h"
#include "lmlab/model/transformer.h"
#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::detect {

struct TextStats {
  double loglik = 0, logrank = 0;
};

// The statistics of each text under `lm` (eval mode); eot starts every sequence.
std::vector<TextStats> lm_text_stats(model::Transformer& lm, const tokenizer::Tokenizer& tok, int64_t eot,
                                     const std::vector<DetectExample>& xs, int64_t max_tokens, int64_t batch_size,
                                     const torch::Device& device);

struct Threshold {
  double sign = 1, threshold = 0, scale = 1, val_acc = 0;
};
// The sign and threshold of s with the best accuracy on (s, labels); ties keep the first found.
Threshold best_threshold(const std::vector<double>& s, const std::vector<int>& labels);

}  // namespace lmlab::detect
