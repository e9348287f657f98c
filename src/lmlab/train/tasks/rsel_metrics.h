// Response-selection metrics as the official Dial-MAE evaluation (copied from BERT-ResSel's
// calculate_candidates_ranking / logits_recall_at_k / logits_mrr):
//   groups   consecutive lines of a TSV with the same context are one context's candidates
//   ranking  candidates sorted by score, highest first; among EQUAL scores the candidate later
//            in the file ranks higher (ResSel sorts by (score, position), reversed). As the real
//            sets and rsel-build put the positive first, a tie between the positive and a
//            negative counts against the positive:
//              rank(i) = 1 + #{j : s_j > s_i} + #{j > i : s_j = s_i}
//   R10@k    per context: the share of its positives with rank <= k; averaged over contexts
//   MRR      per context: 1 / (the best rank of a positive); averaged over contexts
//   R2@1     per context: the first positive against the first negative in file order, with
//            the same tie rule (E-commerce's R2@1)
// A context with no positive or no negative has no defined score and is skipped (counted).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "lmlab/data/text_records.h"

namespace lmlab::train {

struct RankingGroup {
  std::vector<double> scores;  // one per candidate, in file order
  std::vector<int64_t> labels;  // 1 = a true response
};

// 1-based rank of candidate i under the tie rule above.
int64_t candidate_rank(const std::vector<double>& scores, size_t i);

struct RselMetrics {
  double r10_1 = 0, r10_2 = 0, r10_5 = 0, mrr = 0, r2_1 = 0;
  int64_t contexts = 0, skipped = 0;
  nlohmann::json to_json() const;
};
RselMetrics rsel_metrics(const std::vector<RankingGroup>& groups);

// [first, end) line ranges of consecutive examples sharing a context.
std::vector<std::pair<size_t, size_t>> context_groups(const std::vector<data::ResponseExample>& examples);

}  // namespace lmlab::train
