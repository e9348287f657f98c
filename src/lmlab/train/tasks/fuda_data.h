// The data of a few-shot domain-adaptation run: two image domains brought to one input
// (grey, S x S, normalised), fixed random subsets of them, and the labelled source shots.
//   source: N_s images; `shots` per class of them are labelled (indices into the source set)
//   target: N_t images, unlabelled for training; their labels only score accuracy
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::train {

struct Domain {
  std::string path;
  torch::Tensor images;  // (N, 1, S, S) float32
  torch::Tensor labels;  // (N) int64
  int64_t size() const { return labels.size(0); }
};

// IDX images (labels file beside, data::idx_labels_path) or the optdigits CSV (64 pixels 0..16
// then the label, one image a line), scaled to [0, 1]. UserError with the file (and line) on bad input.
Domain read_domain(const std::string& path);

// Bilinear resize to side x side (antialiased when shrinking), then "per_image" (zero mean, unit
// variance per image) or "fixed" ((x - 0.5) / 0.5).
torch::Tensor to_input(const torch::Tensor& images, int64_t side, const std::string& normalise);

// Training augmentation (the digits' version of the paper's random crop; no flips): each image
// moved by a random integer offset in [-shift, shift] along each axis, its border pixels
// repeated into the gap (replicate padding, then a crop). Offsets from torch's generator.
torch::Tensor random_shift(const torch::Tensor& images, int64_t shift);

// The first `n` of a seeded permutation of [0, size) (n = 0 or >= size: all, in order).
std::vector<int64_t> random_subset(int64_t size, int64_t n, uint64_t seed);
Domain take(const Domain& d, const std::vector<int64_t>& rows);

// `shots` indices of each class 0..n_classes-1, the first of a per-class seeded permutation, in
// class order. UserError naming `what` when a class has fewer images than shots.
std::vector<int64_t> sample_shots(const torch::Tensor& labels, int64_t n_classes, int64_t shots, uint64_t seed,
                                  const std::string& what);

}  // namespace lmlab::train
