// The real TokenScorer: a causal language model (any (B, T) ids -> (B, T, V) logits function,
// e.g. a model::Transformer's forward) scoring requests in batches.
// Each request becomes one row: input = (context + continuation)[-(L+1):][:-1] (lm-eval's
// truncation), the continuation's log-probs read at its last len(continuation) positions.
// Requests are sorted longest first (so a batch wastes little padding), right-padded to the
// batch's longest row and masked when read. Right padding never changes earlier positions of
// a causal model, so batched scores equal one-at-a-time scores. (A capacity-limited MoE router
// sees the padding tokens too; docs/eval.md.)
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

#include "lmlab/eval/scorer.h"

namespace lmlab::eval {

class CausalLmScorer : public TokenScorer {
 public:
  using Forward = std::function<torch::Tensor(const torch::Tensor& idx)>;  // (B, T) int64 -> (B, T, V)

  CausalLmScorer(Forward forward, int64_t max_length, torch::Device device, int64_t batch_size);

  int64_t max_length() const override { return max_length_; }
  std::vector<TokenScores> score(const std::vector<TokenRequest>& requests) override;

  // The progress bar's label for the next score() calls (e.g. the task name).
  void set_label(std::string label) { label_ = std::move(label); }

 private:
  Forward forward_;
  int64_t max_length_, batch_size_;
  torch::Device device_;
  std::string label_ = "scoring";
};

}  // namespace lmlab::eval
