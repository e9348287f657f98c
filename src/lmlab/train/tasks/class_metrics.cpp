// Classification scores (formulas in class_metrics.h).
#include "lmlab/train/tasks/class_metrics.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace lmlab::train {

double auroc(const torch::Tensor& scores, const torch::Tensor& labels) {
  torch::Tensor s = scores.to(torch::kFloat64).cpu().contiguous(), y = labels.to(torch::kInt64).cpu().contiguous();
  const int64_t n = s.size(0);
  const double* sp = s.data_ptr<double>();
  const int64_t* yp = y.data_ptr<int64_t>();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return sp[a] < sp[b]; });
  double rank_sum = 0;  // of the positives, 1-based ranks, ties given their mean rank
  int64_t positives = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && sp[order[j]] == sp[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (int64_t k = i; k < j; ++k)
      if (yp[order[k]] == 1) rank_sum += mean_rank, ++positives;
    i = j;
  }
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  const double p = static_cast<double>(positives);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

nlohmann::json classification_metrics(const torch::Tensor& probs, const torch::Tensor& labels, double loss) {
  const int64_t C = probs.size(1);
  torch::Tensor pred = probs.argmax(1).cpu(), y = labels.cpu();
  torch::Tensor confusion = torch::zeros({C * C}, torch::kInt64);
  confusion.index_add_(0, y * C + pred, torch::ones_like(y));
  confusion = confusion.view({C, C});
  auto cm = confusion.accessor<int64_t, 2>();
  nlohmann::json out = {{"records", y.size(0)}, {"loss", loss},
                        {"acc", pred.eq(y).to(torch::kFloat64).mean().item<double>()}};
  double f1_sum = 0;
  std::vector<double> f1(C);
  for (int64_t c = 0; c < C; ++c) {
    int64_t tp = cm[c][c], fp = 0, fn = 0;
    for (int64_t o = 0; o < C; ++o)
      if (o != c) fp += cm[o][c], fn += cm[c][o];
    f1[c] = tp + fp + fn == 0 ? 0.0 : 2.0 * tp / static_cast<double>(2 * tp + fp + fn);
    f1_sum += f1[c];
  }
  out["f1_macro"] = f1_sum / static_cast<double>(C);
  std::vector<std::vector<int64_t>> rows(C, std::vector<int64_t>(C));
  for (int64_t i = 0; i < C; ++i)
    for (int64_t j = 0; j < C; ++j) rows[i][j] = cm[i][j];
  out["confusion"] = rows;
  if (C == 2) {
    out["f1_pos"] = f1[1];
    out["auroc"] = auroc(probs.select(1, 1), y);
  }
  return out;
}

}  // namespace lmlab::train
