// Candidate ranking by predicted loss against the actual ranking (see mixture_ranking.h).
#include "lmlab/analysis/mixture_ranking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <sstream>

#include "lmlab/common/error.h"

namespace lmlab::analysis {

std::vector<size_t> rank_order(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  return order;
}

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("kendall_tau: series differ in length");
  double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = i + 1; j < a.size(); ++j) {
      const double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ties_a += 1;
      } else if (db == 0) {
        ties_b += 1;
      } else if ((da > 0) == (db > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const double denominator = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  if (!(denominator > 0) || concordant + discordant == 0) return std::numeric_limits<double>::quiet_NaN();
  return (concordant - discordant) / denominator;
}

namespace {

double value_of(const RankingInput::mapped_type::mapped_type& metrics, int64_t seed, const std::string& candidate,
                const std::string& metric) {
  auto it = metrics.find(metric);
  if (it == metrics.end() || !std::isfinite(it->second))
    throw UserError("seed " + std::to_string(seed) + ", candidate " + candidate + ": no finite value of metric '" + metric + "'");
  return it->second;
}

std::vector<double> column(const RankingInput::mapped_type& candidates, int64_t seed, const std::string& metric) {
  std::vector<double> out;
  for (const auto& [name, metrics] : candidates) out.push_back(value_of(metrics, seed, name, metric));
  return out;
}

std::vector<std::string> names_in_order(const RankingInput::mapped_type& candidates, const std::vector<size_t>& order) {
  std::vector<std::string> names;
  for (const auto& c : candidates) names.push_back(c.first);
  std::vector<std::string> out;
  for (size_t i : order) out.push_back(names[i]);
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : " < ") + n;
  return s;
}

}  // namespace

std::vector<MethodRanking> rank_candidates(const RankingInput& values, const std::vector<std::string>& methods,
                                           const std::string& actual) {
  std::vector<MethodRanking> out;
  for (const auto& method : methods) {
    MethodRanking m;
    m.method = method;
    double tau_sum = 0;
    int64_t tau_n = 0;
    for (const auto& [seed, candidates] : values) {
      const std::vector<double> predicted = column(candidates, seed, method), truth = column(candidates, seed, actual);
      const std::vector<size_t> order = rank_order(predicted), true_order = rank_order(truth);
      SeedRanking s;
      s.seed = seed;
      s.order = names_in_order(candidates, order);
      s.best_right = !order.empty() && order.front() == true_order.front();
      s.order_right = order == true_order;
      s.tau = kendall_tau(predicted, truth);
      m.best_right += s.best_right;
      m.order_right += s.order_right;
      if (std::isfinite(s.tau)) {
        tau_sum += s.tau;
        ++tau_n;
      }
      m.seeds.push_back(std::move(s));
    }
    m.mean_tau = tau_n > 0 ? tau_sum / static_cast<double>(tau_n) : std::numeric_limits<double>::quiet_NaN();
    out.push_back(std::move(m));
  }
  return out;
}

std::string ranking_markdown(const std::vector<MethodRanking>& rankings, const RankingInput& values,
                             const std::string& actual) {
  std::ostringstream out;
  const size_t n = values.size();
  out << "| ranked by | best picked | whole order right | mean Kendall τ | predicted order per seed |\n"
      << "|---|---:|---:|---:|---|\n";
  for (const auto& m : rankings) {
    std::string orders;
    for (const auto& s : m.seeds) orders += (orders.empty() ? "" : "; ") + std::to_string(s.seed) + ": " + joined(s.order);
    char tau[32] = "n/a";
    if (std::isfinite(m.mean_tau)) std::snprintf(tau, sizeof tau, "%.2f", m.mean_tau);
    out << "| " << m.method << " | " << m.best_right << "/" << n << " | " << m.order_right << "/" << n << " | " << tau
        << " | " << orders << " |\n";
  }
  std::string truth;
  for (const auto& [seed, candidates] : values)
    truth += (truth.empty() ? "" : "; ") + std::to_string(seed) + ": " +
             joined(names_in_order(candidates, rank_order(column(candidates, seed, actual))));
  out << "| " << actual << " (actual) | | | | " << truth << " |\n";
  return out.str();
}

}  // namespace lmlab::analysis
