// Response-selection ranking metrics (rules in rsel_metrics.h).
#include "lmlab/train/tasks/rsel_metrics.h"

#include <algorithm>

namespace lmlab::train {

int64_t candidate_rank(const std::vector<double>& scores, size_t i) {
  int64_t rank = 1;
  for (size_t j = 0; j < scores.size(); ++j)
    if (scores[j] > scores[i] || (j > i && scores[j] == scores[i])) ++rank;
  return rank;
}

nlohmann::json RselMetrics::to_json() const {
  return {{"r10_1", r10_1}, {"r10_2", r10_2}, {"r10_5", r10_5}, {"mrr", mrr},
          {"r2_1", r2_1},   {"contexts", contexts}, {"skipped", skipped}};
}

RselMetrics rsel_metrics(const std::vector<RankingGroup>& groups) {
  RselMetrics m;
  for (const auto& g : groups) {
    std::vector<int64_t> ranks;
    int64_t first_pos = -1, first_neg = -1;
    for (size_t i = 0; i < g.labels.size(); ++i) {
      if (g.labels[i] == 1) {
        ranks.push_back(candidate_rank(g.scores, i));
        if (first_pos < 0) first_pos = static_cast<int64_t>(i);
      } else if (first_neg < 0) {
        first_neg = static_cast<int64_t>(i);
      }
    }
    if (ranks.empty() || first_neg < 0) {
      ++m.skipped;
      continue;
    }
    auto recall = [&](int64_t k) {
      double hit = 0;
      for (int64_t r : ranks) hit += r <= k ? 1.0 : 0.0;
      return hit / static_cast<double>(ranks.size());
    };
    m.r10_1 += recall(1);
    m.r10_2 += recall(2);
    m.r10_5 += recall(5);
    m.mrr += 1.0 / static_cast<double>(*std::min_element(ranks.begin(), ranks.end()));
    const bool pos_first = first_pos < first_neg;  // the pair keeps its file order for the tie rule
    const double sp = g.scores[first_pos], sn = g.scores[first_neg];
    const std::vector<double> pair = pos_first ? std::vector<double>{sp, sn} : std::vector<double>{sn, sp};
    m.r2_1 += candidate_rank(pair, pos_first ? 0 : 1) == 1 ? 1.0 : 0.0;
    ++m.contexts;
  }
  if (m.contexts > 0) {
    const double n = static_cast<double>(m.contexts);
    m.r10_1 /= n;
    m.r10_2 /= n;
    m.r10_5 /= n;
    m.mrr /= n;
    m.r2_1 /= n;
  }
  return m;
}

std::vector<std::pair<size_t, size_t>> context_groups(const std::vector<data::ResponseExample>& examples) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < examples.size(); ++i)
    if (out.empty() || examples[i].context != examples[out.back().first].context)
      out.emplace_back(i, i + 1);
    else
      out.back().second = i + 1;
  return out;
}

}  // namespace lmlab::train
