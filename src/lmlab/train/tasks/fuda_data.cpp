// Reading, resizing and sampling the two domains (see fuda_data.h).
#include "lmlab/train/tasks/fuda_data.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/idx.h"

namespace lmlab::train {

namespace {

bool is_csv(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".csv") == 0;
}

// optdigits as sklearn ships it: 64 pixel values 0..16 then the label 0..9 per line.
Domain read_digits_csv(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<double> values;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      try {
        size_t used = 0;
        values.push_back(std::stod(field, &used));
        if (used != field.size()) throw std::invalid_argument(field);
      } catch (const std::exception&) {
        throw_user_error(path + ":" + std::to_string(line_no), "'" + field + "' is not a number");
      }
    }
    if (values.size() != 65)
      throw_user_error(path + ":" + std::to_string(line_no),
                       std::to_string(values.size()) + " fields; an 8x8 digit has 64 pixels and a label");
    for (int i = 0; i < 64; ++i) {
      if (values[i] < 0 || values[i] > 16)
        throw_user_error(path + ":" + std::to_string(line_no), "pixel " + std::to_string(i) + " is outside 0..16");
      pixels.push_back(static_cast<float>(values[i] / 16.0));
    }
    labels.push_back(static_cast<int64_t>(values[64]));
  }
  if (labels.empty()) throw_user_error(path, "holds no records");
  const auto n = static_cast<int64_t>(labels.size());
  return {path, torch::tensor(pixels).view({n, 1, 8, 8}), torch::tensor(labels, torch::kInt64)};
}

}  // namespace

Domain read_domain(const std::string& path) {
  if (path.empty()) throw UserError("task.fuda.source and task.fuda.target must name image files");
  Domain d;
  if (is_csv(path)) {
    d = read_digits_csv(path);
  } else {
    data::ImageSet s = data::read_idx_images(path, data::idx_labels_path(path));
    d = {path, s.images, s.labels};
  }
  if (d.images.size(1) != 1)
    throw_user_error(path, "has " + std::to_string(d.images.size(1)) + " channels; the fuda task reads grey digits");
  if (d.labels.min().item<int64_t>() < 0) throw_user_error(path, "has a negative label");
  return d;
}

torch::Tensor to_input(const torch::Tensor& images, int64_t side, const std::string& normalise) {
  namespace F = torch::nn::functional;
  torch::Tensor x = images.to(torch::kFloat32);  // (N, 1, H, W)
  if (x.size(2) != side || x.size(3) != side)
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{side, side})
                              .mode(torch::kBilinear)
                              .align_corners(false)
                              .antialias(x.size(2) > side));
  if (normalise == "fixed") return (x - 0.5) / 0.5;
  torch::Tensor mean = x.mean({1, 2, 3}, true), sd = x.std({1, 2, 3}, false, true);
  return (x - mean) / (sd + 1e-5);  // (N, 1, side, side)
}

torch::Tensor random_shift(const torch::Tensor& images, int64_t shift) {
  if (shift <= 0) return images;
  namespace F = torch::nn::functional;
  const int64_t H = images.size(2), W = images.size(3);
  torch::Tensor padded = F::pad(images, F::PadFuncOptions({shift, shift, shift, shift}).mode(torch::kReplicate));
  torch::Tensor offsets = torch::randint(0, 2 * shift + 1, {images.size(0), 2}, torch::kInt64);
  const auto* o = offsets.data_ptr<int64_t>();
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < images.size(0); ++i)
    out.push_back(padded[i].slice(1, o[2 * i], o[2 * i] + H).slice(2, o[2 * i + 1], o[2 * i + 1] + W));
  return torch::stack(out);  // (B, C, H, W)
}

std::vector<int64_t> random_subset(int64_t size, int64_t n, uint64_t seed) {
  std::vector<int64_t> rows(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) rows[i] = i;
  if (n <= 0 || n >= size) return rows;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + 17);
  for (int64_t i = size - 1; i > 0; --i) std::swap(rows[i], rows[rng() % (i + 1)]);
  rows.resize(static_cast<size_t>(n));
  std::sort(rows.begin(), rows.end());
  return rows;
}

Domain take(const Domain& d, const std::vector<int64_t>& rows) {
  torch::Tensor idx = torch::tensor(rows, torch::kInt64);
  return {d.path, d.images.index_select(0, idx), d.labels.index_select(0, idx)};
}

std::vector<int64_t> sample_shots(const torch::Tensor& labels, int64_t n_classes, int64_t shots, uint64_t seed,
                                  const std::string& what) {
  if (shots < 1) throw UserError("task.fuda.shots must be >= 1");
  const auto* y = labels.data_ptr<int64_t>();
  std::vector<int64_t> out;
  for (int64_t c = 0; c < n_classes; ++c) {
    std::vector<int64_t> members;
    for (int64_t i = 0; i < labels.size(0); ++i)
      if (y[i] == c) members.push_back(i);
    if (static_cast<int64_t>(members.size()) < shots)
      throw_user_error(what, "class " + std::to_string(c) + " has " + std::to_string(members.size()) +
                                 " images, fewer than task.fuda.shots = " + std::to_string(shots));
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(c) * 1000003ull + 1);
    for (int64_t k = 0; k < shots; ++k) {  // a partial Fisher-Yates: the first `shots` of a permutation
      const int64_t n = static_cast<int64_t>(members.size()) - k;
      std::swap(members[k], members[k + static_cast<int64_t>(rng() % static_cast<uint64_t>(n))]);
      out.push_back(members[k]);
    }
  }
  return out;
}

}  // namespace lmlab::train
