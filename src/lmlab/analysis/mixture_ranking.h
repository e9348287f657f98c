// Ranking candidates (data mixtures) by a predicted final loss and checking the ranking against
// the actual final losses (docs/scaling.md, "Data-mixture selection"). Per seed, each method —
// our law's prediction, the whole-curve baselines' predictions, or the trivial baseline of the
// loss at the cut-off — orders the candidates by its value (lowest first); it is scored by
// whether it picks the actual best candidate, whether its whole order is the actual one, and
// Kendall's tau-b between its values and the actual ones.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lmlab::analysis {

// Indices of `values` from lowest to highest; ties keep index order.
std::vector<size_t> rank_order(const std::vector<double>& values);

// Kendall's tau-b of two equally long series (ties count in neither direction and shrink the
// denominator); NaN with fewer than 2 values or when either series is constant.
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b);

struct SeedRanking {
  int64_t seed = 0;
  std::vector<std::string> order;  // candidate names, predicted best first
  bool best_right = false, order_right = false;
  double tau = 0;
};

struct MethodRanking {
  std::string method;  // the metric it ranks by
  std::vector<SeedRanking> seeds;
  int64_t best_right = 0, order_right = 0;
  double mean_tau = 0;  // over the seeds where tau is defined; NaN when none
};

// values[seed][candidate][metric]. Every method and `actual` must be present for every
// candidate of a seed (UserError naming seed, candidate and metric otherwise).
using RankingInput = std::map<int64_t, std::map<std::string, std::map<std::string, double>>>;
std::vector<MethodRanking> rank_candidates(const RankingInput& values, const std::vector<std::string>& methods,
                                           const std::string& actual);

// Markdown table: method | best picked | order right | mean tau | predicted order per seed; then
// the actual order per seed.
std::string ranking_markdown(const std::vector<MethodRanking>& rankings, const RankingInput& values,
                             const std::string& actual);

}  // namespace lmlab::analysis
