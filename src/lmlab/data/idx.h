// Image data sets as tensors: IDX files (MNIST, Fashion-MNIST, the USPS conversion) and the
// CIFAR-10 binary layout.
//
// IDX: a 4-byte magic {0, 0, type, ndim}, ndim big-endian uint32 sizes, then the elements
// big-endian in row-major order. lmlab reads type 0x08 (uint8) and 0x0D (float32), any ndim,
// gzip-compressed or not (by the ".gz" name). Every error names the file and the byte offset
// of the problem (the magic, the size field, the end of the data).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::data {

// The element types an IDX file may hold here.
enum class IdxType : uint8_t { kUInt8 = 0x08, kFloat32 = 0x0D };

struct IdxArray {
  IdxType type = IdxType::kUInt8;
  std::vector<int64_t> shape;  // as stored; shape[0] is the record count
  torch::Tensor values;        // that shape, torch::kUInt8 or torch::kFloat32, native byte order
};

// Parses the whole file; UserError "<path>: byte N: <problem>" for a bad magic, an unsupported
// type, a truncated file or bytes after the data.
IdxArray read_idx(const std::string& path);

// Images and their class labels, record i of one with record i of the other.
struct ImageSet {
  torch::Tensor images;  // (N, C, H, W) float32: uint8 pixels scaled to [0, 1], float32 as stored
  torch::Tensor labels;  // (N) int64
};

// An images file of 3 dimensions (N, H, W) -> C = 1, or 4 dimensions read as (N, C, H, W), with
// a 1-dimensional uint8 labels file of the same N.
ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path);

// The labels file beside an images file under the shared data's naming: the part
// "images-idx<d>-<ubyte|float32>" of the file name becomes "labels-idx1-ubyte"
// ("t10k-images-idx3-ubyte.gz" -> "t10k-labels-idx1-ubyte.gz",
// "usps-test-images-idx3-float32.gz" -> "usps-test-labels-idx1-ubyte.gz"). UserError when the
// name does not follow it or the labels file does not exist.
std::string idx_labels_path(const std::string& images_path);

// CIFAR-10 binary version: records of 1 label byte (0-9) then 3072 pixel bytes (1024 R, 1024 G,
// 1024 B, each 32x32 row-major), no header. Images (N, 3, 32, 32) scaled to [0, 1].
ImageSet read_cifar10(const std::string& path);

}  // namespace lmlab::data
