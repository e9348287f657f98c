// IDX and CIFAR-10 binary readers (formats in idx.h).
#include "lmlab/data/idx.h"

#include <cstring>
#include <filesystem>
#include <regex>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

namespace lmlab::data {

namespace {

[[noreturn]] void fail_at(const std::string& path, int64_t byte, const std::string& problem) {
  throw_user_error(SourcePos{path, 0, 0, byte}, problem);
}

uint32_t big_endian_u32(const std::string& bytes, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex_byte(unsigned v) {
  const char* digits = "0123456789ABCDEF";
  return std::string("0x") + digits[(v >> 4) & 15] + digits[v & 15];
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out;
  for (int64_t d : shape) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

// Magic and sizes; the element count is checked against the bytes that follow.
IdxArray parse_header(const std::string& path, const std::string& bytes, size_t& data_start) {
  if (bytes.size() < 4) fail_at(path, 0, "truncated IDX header (" + std::to_string(bytes.size()) + " bytes)");
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (b[0] != 0 || b[1] != 0) fail_at(path, 0, "not an IDX file (magic must start with two zero bytes)");
  IdxArray a;
  if (b[2] != 0x08 && b[2] != 0x0D)
    fail_at(path, 2, "unsupported IDX element type " + hex_byte(b[2]) + " (supported: 0x08 uint8, 0x0D float32)");
  a.type = static_cast<IdxType>(b[2]);
  if (b[3] == 0) fail_at(path, 3, "IDX file with 0 dimensions");
  data_start = 4 + 4 * size_t{b[3]};
  if (bytes.size() < data_start)
    fail_at(path, static_cast<int64_t>(bytes.size()),
            "truncated IDX header: " + std::to_string(b[3]) + " dimensions need " + std::to_string(data_start) +
                " header bytes");
  for (size_t d = 0; d < b[3]; ++d) a.shape.push_back(big_endian_u32(bytes, 4 + 4 * d));
  return a;
}

torch::Tensor decode_elements(const IdxArray& a, const std::string& bytes, size_t start, int64_t count) {
  if (a.type == IdxType::kUInt8) {
    auto t = torch::empty({count}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + start, static_cast<size_t>(count));
    return t.view(a.shape);
  }
  auto t = torch::empty({count}, torch::kFloat32);
  float* out = t.data_ptr<float>();
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits = big_endian_u32(bytes, start + 4 * static_cast<size_t>(i));
    std::memcpy(&out[i], &bits, 4);
  }
  return t.view(a.shape);
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  const std::string bytes = read_file(path);
  size_t start = 0;
  IdxArray a = parse_header(path, bytes, start);
  const size_t element_bytes = a.type == IdxType::kUInt8 ? 1 : 4;
  const std::string what = "header says " + shape_text(a.shape) + (element_bytes == 1 ? " uint8" : " float32");
  auto truncated = [&] {
    fail_at(path, static_cast<int64_t>(bytes.size()),
            "truncated: " + what + ", the file has " + std::to_string(bytes.size() - start) + " bytes of data");
  };
  // The product is checked against the file as it grows: 255 uint32 sizes could overflow int64.
  int64_t count = 1;
  for (int64_t d : a.shape) {
    if (d != 0 && count > static_cast<int64_t>(bytes.size() - start) / d) truncated();
    count *= d;
  }
  const size_t want = start + static_cast<size_t>(count) * element_bytes;
  if (bytes.size() < want) truncated();
  if (bytes.size() > want)
    fail_at(path, static_cast<int64_t>(want),
            std::to_string(bytes.size() - want) + " bytes after the data (" + what + ")");
  a.values = decode_elements(a, bytes, start, count);
  return a;
}

ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.shape.size() != 3 && images.shape.size() != 4)
    fail_at(images_path, 3, "expected images of 3 dimensions (N, H, W) or 4 (N, C, H, W), got " +
                                shape_text(images.shape));
  if (labels.shape.size() != 1 || labels.type != IdxType::kUInt8)
    fail_at(labels_path, 2, "expected a 1-dimensional uint8 labels file, got " + shape_text(labels.shape) +
                                (labels.type == IdxType::kUInt8 ? " uint8" : " float32"));
  if (labels.shape[0] != images.shape[0])
    fail_at(labels_path, 4, std::to_string(labels.shape[0]) + " labels for " + std::to_string(images.shape[0]) +
                                " images in " + images_path);
  ImageSet set;
  set.images = images.type == IdxType::kUInt8 ? images.values.to(torch::kFloat32).div_(255.0) : images.values;
  if (images.shape.size() == 3) set.images = set.images.unsqueeze(1);
  set.labels = labels.values.to(torch::kInt64);
  return set;
}

std::string idx_labels_path(const std::string& images_path) {
  namespace fs = std::filesystem;
  const fs::path p(images_path);
  static const std::regex images_part("images-idx[0-9]-(ubyte|float32)");
  const std::string name = p.filename().string();
  if (!std::regex_search(name, images_part))
    throw_user_error(images_path, "cannot tell the labels file from the name (expected '...images-idx3-ubyte...' or "
                                  "'...images-idx3-float32...')");
  const std::string labels = (p.parent_path() / std::regex_replace(name, images_part, "labels-idx1-ubyte")).string();
  if (!file_exists(labels)) throw_user_error(images_path, "its labels file " + labels + " does not exist");
  return labels;
}

ImageSet read_cifar10(const std::string& path) {
  constexpr int64_t kPixels = 3 * 32 * 32, kRecord = 1 + kPixels;
  const std::string bytes = read_file(path);
  const auto size = static_cast<int64_t>(bytes.size());
  if (size == 0) fail_at(path, 0, "empty CIFAR-10 file");
  if (size % kRecord != 0)
    fail_at(path, size - size % kRecord,
            "truncated: " + std::to_string(size) + " bytes is not a whole number of 3073-byte CIFAR-10 records");
  const int64_t n = size / kRecord;
  auto raw = torch::empty({n, kRecord}, torch::kUInt8);
  std::memcpy(raw.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  const uint8_t* r = raw.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    if (r[i * kRecord] > 9)
      fail_at(path, i * kRecord, "record " + std::to_string(i) + " has label " + std::to_string(r[i * kRecord]) +
                                     " (CIFAR-10 labels are 0-9)");
  ImageSet set;
  set.labels = raw.select(1, 0).to(torch::kInt64);
  set.images = raw.slice(1, 1).to(torch::kFloat32).div_(255.0).view({n, 3, 32, 32});
  return set;
}

}  // namespace lmlab::data
