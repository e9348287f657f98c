// acc / acc_norm / LAMBADA metrics from log-likelihoods (formulas in multiple_choice.h).
#include "lmlab/eval/multiple_choice.h"

#include <cmath>
#include <stdexcept>


namespace lmlab::eval {

namespace {

// Mean and lm-eval's mean_stderr (sample std with ddof=1, over sqrt(n)).
std::pair<double, double> mean_stderr(const std::vector<double>& xs) {
  const double n = static_cast<double>(xs.size());
  if (xs.empty()) return {0.0, 0.0};
  double mean = 0;
  for (double x : xs) mean += x / n;
  if (xs.size() < 2) return {mean, 0.0};
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (n - 1) / n)};
}

size_t argmax(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;  // strict: ties keep the first, as np.argmax
  return best;
}

void put(TaskResult& r, const std::string& name, const std::vector<double>& xs) {
  auto [mean, stderr_] = mean_stderr(xs);
  r.metrics[name] = mean;
  r.metrics[name + "_stderr"] = stderr_;
}

}  // namespace

TaskResult task_metrics(const TaskData& task, const std::vector<Loglikelihood>& lls) {
  TaskResult r{task.name, static_cast<int64_t>(task.items.size()), {}, task.note};
  std::vector<double> acc, acc_norm, ll_last_word;
  size_t k = 0;
  for (const Item& item : task.items) {
    std::vector<double> ll, ll_norm;
    for (const Choice& c : item.choices) {
      if (k >= lls.size()) throw std::logic_error("task_metrics: fewer log-likelihoods than choices");
      ll.push_back(lls[k].logprob);
      ll_norm.push_back(lls[k].logprob / static_cast<double>(std::max<int64_t>(c.norm_chars, 1)));
      if (task.metrics == TaskMetrics::kLastWord) {
        acc.push_back(lls[k].greedy ? 1.0 : 0.0);
        ll_last_word.push_back(lls[k].logprob);
      }
      ++k;
    }
    if (task.metrics == TaskMetrics::kLastWord) continue;
    acc.push_back(static_cast<int64_t>(argmax(ll)) == item.gold ? 1.0 : 0.0);
    acc_norm.push_back(static_cast<int64_t>(argmax(ll_norm)) == item.gold ? 1.0 : 0.0);
  }
  put(r, "acc", acc);
  if (task.metrics == TaskMetrics::kAccAndNorm) put(r, "acc_norm", acc_norm);
  if (task.metrics == TaskMetrics::kLastWord) {
    auto [mean_ll, mean_ll_stderr] = mean_stderr(ll_last_word);
    const double ppl = ll_last_word.empty() ? 0.0 : std::exp(-mean_ll);
    r.metrics["perplexity"] = ppl;
    r.metrics["perplexity_stderr"] = ppl * mean_ll_stderr;  // delta method (lm-eval bootstraps)
  }
  return r;
}

TaskResult score_task(const TaskData& task, LoglikelihoodScorer& scorer, std::vector<Loglikelihood>* per_request) {
  std::vector<Request> requests;
  for (const Item& item : task.items)
    for (const Choice& c : item.choices) requests.push_back(c.request);
  std::vector<Loglikelihood> lls = scorer.loglikelihood(requests);
  if (lls.size() != requests.size()) throw std::logic_error("scorer returned a wrong number of results");
  TaskResult r = task_metrics(task, lls);
  if (per_request) *per_request = std::move(lls);
  return r;
}

}  // namespace lmlab::eval
