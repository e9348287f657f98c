// PCS (Yue et al., CVPR 2021), the pieces C-VisDiT builds on, as in zhengzangw/PCS-FUDA:
//   features     f = normalise(fc(backbone(x)))                                      (B, d)
//   classifier   z = normalise(f) W^T / T, rows of W kept unit-norm, T = 0.05          (B, C)
//   memory bank  V_i <- normalise(m V_i + (1 - m) f_i), m = 0.5 (labelled shots: 0.9)
//   k-means      spherical, on each domain's bank, k in {C, 2C}, several seeded runs;
//                concentration phi_c = sum_{i in c} |V_i - mu_c| / (n_c log(n_c + alpha)),
//                phi = 0.05 for a single member and at least 0.05
//   proto-each   L = -mean_i log( exp(f_i.mu_{c(i)} / phi_{c(i)}) / sum_j exp(f_i.mu_j / phi_j) )
//                with c(i) the cluster of i's own bank entry, same domain, mean over runs
//   I2C-cross    p_ij = softmax_j(f_i.mu'_j / t) over the OTHER domain's centroids, t = 0.1;
//                L = mean_i H(p_i), mean over runs
//   entmin       mean_i -sum_c p_ic log(p_ic + 1e-5)
//   condentmax   pbar = mean_i p_i; v = running mean of pbar (MomentumSoftmax);
//                L = sum_c pbar_c log(v_c + 1e-5)   (minimising it spreads the predictions)
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lmlab::train {

// normalise(m rows + (1 - m) normalise(features)), both (B, d).
torch::Tensor bank_update(const torch::Tensor& rows, const torch::Tensor& features, double m);

struct Clustering {
  torch::Tensor labels;     // (N) int64, the nearest centroid of every point
  torch::Tensor centroids;  // (k, d) unit rows
  torch::Tensor phi;        // (k) concentration; 0 marks an empty cluster (left out of the losses)
};

// Spherical k-means on unit rows x (N, d): k distinct seeded points start, then `iters` rounds of
// assign (max cosine; ties to the lower index) and centroid = normalise(sum of members). An
// empty cluster restarts at the point farthest from its centroid. phi as in the header.
Clustering spherical_kmeans(const torch::Tensor& x, int64_t k, int64_t iters, uint64_t seed, double alpha);
torch::Tensor cluster_concentration(const torch::Tensor& x, const torch::Tensor& labels, const torch::Tensor& centroids,
                                    double alpha);

// proto-each: f (B, d), rows (B) the batch's indices into the bank the clusterings were run on.
torch::Tensor proto_loss(const torch::Tensor& f, const torch::Tensor& rows, const std::vector<Clustering>& runs);
// I2C-cross against the other domain's clusterings.
torch::Tensor i2c_loss(const torch::Tensor& f, const std::vector<Clustering>& other, double t);
torch::Tensor mean_entropy(const torch::Tensor& logits);  // entmin

// The running mean of batch-mean predictions: v <- (v n + pbar b) / (n + b), n += b; reset()
// sets n back to its start (PCS: once per pass over the loader, n = batches per pass).
class MomentumSoftmax {
 public:
  MomentumSoftmax(int64_t n_classes, double start) : v_(torch::full({n_classes}, 1.0 / n_classes)), n_(start), start_(start) {}
  // condentmax on these logits (B, C); updates v with the detached batch mean first, as PCS.
  torch::Tensor condentmax(const torch::Tensor& logits);
  void reset() { n_ = start_; }
  const torch::Tensor& vector() const { return v_; }

 private:
  torch::Tensor v_;
  double n_, start_;
};

// Cosine classifier without bias; forward() renormalises the rows of W in place first (as PCS).
class CosineClassifierImpl : public torch::nn::Module {
 public:
  CosineClassifierImpl(int64_t dim, int64_t n_classes, double temperature);
  torch::Tensor forward(const torch::Tensor& f);  // (B, d) -> (B, C)
  // W_c = normalise(mean of bank rows labelled c) for the classes with at least min_count rows;
  // labels (N) int64 with -1 = unlabelled. Returns how many classes were set.
  int64_t load_prototypes(const torch::Tensor& bank, const torch::Tensor& labels, int64_t min_count);

  torch::Tensor weight;  // (C, d)

 private:
  double temperature_;
};
TORCH_MODULE(CosineClassifier);

}  // namespace lmlab::train
