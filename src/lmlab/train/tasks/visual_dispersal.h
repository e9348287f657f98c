// C-VisDiT's two confidence-based mixups (Xiong et al., ICCV 2023), as in Bostoncake/C-VisDiT
// (src/agents/CVisDiT.py, src/utils/datautils.py:MixedDataset). At the start of every epoch,
// with the model in eval mode, every target t gets p_t = softmax(z_t), y^_t = argmax p_t and
//   H_t = -sum_c p_tc log(p_tc + 1e-5);   targets ranked by ascending H (confident first).
// Mixing (both):  lambda ~ Beta(a, a), a = 0.75, lambda = max(lambda, 1 - lambda)
//                 x = lambda x_1 + (1 - lambda) x_2,  y = lambda onehot(y_1) + (1 - lambda) onehot(y_2)
// X-VD: x_1 = every target, x_2 = its nearest LABELLED source s(t) = argmin_s |f_t - f_s|^2;
//       L_X = sum_i m_i CE_soft(z_i, y_i) / sum_i m_i, m_i = 1 for the floor(N r) lowest-entropy
//       targets (r = confidence_ratio), 0 when no row of the batch is confident.
// I-VD: easy = ranks [0, floor(N r_in)), hard = [floor(N r_in), floor(N r_conf)), the rest are
//       outliers (unused); x_1 = a hard target, x_2 = a uniformly random member of easy targets
//       + labelled source; L_I = mean_i CE_soft(z_i, y_i) (no mask).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace lmlab::train {

torch::Tensor prediction_entropy(const torch::Tensor& probs);  // (N, C) -> (N)
// Row indices by ascending entropy (a stable sort: ties keep the lower index first).
torch::Tensor entropy_ranking(const torch::Tensor& entropy);
// (N) float mask of the floor(N ratio) lowest-entropy rows.
torch::Tensor confident_mask(const torch::Tensor& entropy, double ratio);

struct ConfidenceSplit {
  torch::Tensor easy, hard, outliers;  // int64 row indices, each in ascending-entropy order
};
ConfidenceSplit three_way_split(const torch::Tensor& entropy, double inside_ratio, double inside_confidence);

// s(t) for every target: (N, d), (M, d) -> (N) int64 (ties: the lower source index).
torch::Tensor nearest_source(const torch::Tensor& target_features, const torch::Tensor& source_features);

// n mixing weights lambda >= 0.5 (Beta via two Gamma draws of torch's generator).
torch::Tensor mix_lambdas(int64_t n, double alpha);
struct Mixed {
  torch::Tensor images;  // (B, ...) lambda x_1 + (1 - lambda) x_2
  torch::Tensor soft;    // (B, C) rows sum to 1
};
Mixed mix(const torch::Tensor& x1, const torch::Tensor& y1, const torch::Tensor& x2, const torch::Tensor& y2,
          const torch::Tensor& lambdas, int64_t n_classes);

torch::Tensor soft_cross_entropy(const torch::Tensor& logits, const torch::Tensor& soft);  // (B) per row
torch::Tensor masked_mean(const torch::Tensor& per_row, const torch::Tensor& mask);      // 0 when sum(mask) = 0

// Rows of one mixed set drawn as a shuffled DataLoader with drop_last = False: a pass visits
// every row once in batches of `batch` (the last one smaller), then a new pass reshuffles.
class RowCycler {
 public:
  RowCycler() = default;
  RowCycler(std::vector<int64_t> rows, int64_t batch, uint64_t seed) : rows_(std::move(rows)), batch_(batch), rng_(seed) {}
  bool empty() const { return rows_.empty(); }
  std::vector<int64_t> next();

 private:
  std::vector<int64_t> rows_, order_;
  size_t pos_ = 0;
  int64_t batch_ = 1;
  std::mt19937_64 rng_;
};

}  // namespace lmlab::train
