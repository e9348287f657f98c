// Scoring a multiple-choice task, with lm-evaluation-harness's definitions:
//   acc      = mean over items of [argmax_i LL_i == gold]
//   acc_norm = mean over items of [argmax_i LL_i / len_i == gold], len_i = the choice text's
//              length in characters (without the " " delimiter)
//   *_stderr = sample standard deviation / sqrt(n)
// LL_i = sum of the continuation tokens' log-probs; ties go to the first choice (np.argmax).
// LAMBADA (one choice per item): acc = mean [greedy], perplexity = exp(-mean LL),
//   perplexity_stderr = perplexity * stderr(LL) (the delta method; lm-eval estimates the same
//   quantity by 100,000 bootstrap resamples with Python's RNG, which cannot be reproduced).
#pragma once
#include <vector>

#include "lmlab/eval/scorer.h"
#include "lmlab/eval/task_data.h"
#include "lmlab/eval/task_result.h"

namespace lmlab::eval {

// Scores every choice of every item in one scorer call. `per_request`, when given, receives
// the log-likelihoods in item-major, choice-minor order.
TaskResult score_task(const TaskData& task, LoglikelihoodScorer& scorer,
                      std::vector<Loglikelihood>* per_request = nullptr);

// The metrics of `task` from its per-request log-likelihoods (item-major, choice-minor).
TaskResult task_metrics(const TaskData& task, const std::vector<Loglikelihood>& lls);

}  // namespace lmlab::eval
