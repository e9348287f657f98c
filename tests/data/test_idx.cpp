// IDX and CIFAR-10 readers: byte-exact round trips of files written here (uint8 and float32,
// plain and gzip), a position-naming UserError for every kind of malformed file, and the
// shared data's files with the counts MANIFEST.md states.
#include <gtest/gtest.h>

#include <cstring>

#include "lmlab/data/idx.h"
#include "record_test_util.h"
#include "testing.h"

using namespace lmlab::data;
using lmlab::test::TempDir;
using lmlab::test::user_error_of;

namespace {

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) h += be32(d);
  return h;
}

std::string be_float(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return be32(bits);
}

const std::vector<uint8_t> kPixels{0, 1, 127, 128, 254, 255, 10, 20, 30, 40, 50, 60};  // 2 images 2x3

std::string uint8_images() {
  std::string bytes = idx_header(0x08, {2, 2, 3});
  for (uint8_t p : kPixels) bytes += static_cast<char>(p);
  return bytes;
}

std::string uint8_labels(const std::vector<uint8_t>& labels) {
  std::string bytes = idx_header(0x08, {static_cast<uint32_t>(labels.size())});
  for (uint8_t l : labels) bytes += static_cast<char>(l);
  return bytes;
}

}  // namespace

TEST(Idx, Uint8ImagesRoundTripPlainAndGzip) {
  TempDir dir;
  lmlab::test::write_text(dir.file("d-images-idx3-ubyte"), uint8_images());
  lmlab::test::write_text(dir.file("d-labels-idx1-ubyte"), uint8_labels({3, 7}));
  const std::string gz_images = lmlab::test::gzip_copy(dir.file("d-images-idx3-ubyte"));
  const std::string gz_labels = lmlab::test::gzip_copy(dir.file("d-labels-idx1-ubyte"));
  for (const auto& [images, labels] : {std::pair{dir.file("d-images-idx3-ubyte"), dir.file("d-labels-idx1-ubyte")},
                                       std::pair{gz_images, gz_labels}}) {
    IdxArray raw = read_idx(images);
    EXPECT_EQ(raw.type, IdxType::kUInt8);
    EXPECT_EQ(raw.shape, (std::vector<int64_t>{2, 2, 3}));
    ASSERT_EQ(raw.values.dtype(), torch::kUInt8);
    for (size_t i = 0; i < kPixels.size(); ++i) EXPECT_EQ(raw.values.flatten()[i].item<uint8_t>(), kPixels[i]);

    ImageSet set = read_idx_images(images, labels);
    EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 1, 2, 3}));
    EXPECT_EQ(set.images.dtype(), torch::kFloat32);
    for (size_t i = 0; i < kPixels.size(); ++i)
      EXPECT_EQ(set.images.flatten()[i].item<float>(), static_cast<float>(kPixels[i]) / 255.0f);
    EXPECT_EQ(set.labels.dtype(), torch::kInt64);
    EXPECT_EQ(set.labels[0].item<int64_t>(), 3);
    EXPECT_EQ(set.labels[1].item<int64_t>(), 7);
  }
}

TEST(Idx, Float32IsBigEndianAndKeptAsStored) {
  TempDir dir;
  const std::vector<float> values{0.0f, -1.5f, 1e-40f, 3.25f, 0.123456789f, 1.0f, -0.0f, 65504.0f};
  std::string bytes = idx_header(0x0D, {2, 2, 2});
  for (float v : values) bytes += be_float(v);
  lmlab::test::write_text(dir.file("f-images-idx3-float32"), bytes);
  lmlab::test::write_text(dir.file("f-labels-idx1-ubyte"), uint8_labels({0, 9}));
  const std::string plain = dir.file("f-images-idx3-float32");
  for (const std::string& path : {plain, lmlab::test::gzip_copy(plain)}) {
    ImageSet set = read_idx_images(path, dir.file("f-labels-idx1-ubyte"));
    ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 1, 2, 2}));
    auto flat = set.images.flatten();
    for (size_t i = 0; i < values.size(); ++i) {
      float got = flat[static_cast<int64_t>(i)].item<float>();
      EXPECT_EQ(std::memcmp(&got, &values[i], 4), 0) << "element " << i;
    }
  }
}

TEST(Idx, AnyDimensionCount) {
  TempDir dir;
  lmlab::test::write_text(dir.file("one.idx"), uint8_labels({5, 6, 7}));
  EXPECT_EQ(read_idx(dir.file("one.idx")).shape, (std::vector<int64_t>{3}));
  std::string four = idx_header(0x08, {1, 2, 1, 3});
  four += std::string(6, '\x7f');
  lmlab::test::write_text(dir.file("c-images-idx4-ubyte"), four);
  lmlab::test::write_text(dir.file("c-labels-idx1-ubyte"), uint8_labels({1}));
  ImageSet set = read_idx_images(dir.file("c-images-idx4-ubyte"), dir.file("c-labels-idx1-ubyte"));
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{1, 2, 1, 3}));  // (N, C, H, W) as stored
  std::string empty = idx_header(0x08, {0, 28, 28});
  lmlab::test::write_text(dir.file("empty.idx"), empty);
  EXPECT_EQ(read_idx(dir.file("empty.idx")).values.numel(), 0);
}

TEST(Idx, MalformedFilesNameFileAndByte) {
  TempDir dir;
  struct Case {
    std::string name, bytes, expected;
  };
  const std::string good = uint8_images();
  const std::vector<Case> cases{
      {"short", std::string("\0\0", 2), ": byte 0: truncated IDX header"},
      {"magic", "\x01\x00" + good.substr(2), ": byte 0: not an IDX file"},
      {"type", good.substr(0, 2) + "\x0B" + good.substr(3), ": byte 2: unsupported IDX element type 0x0B"},
      {"nodims", std::string("\0\0\x08\0", 4), ": byte 3: IDX file with 0 dimensions"},
      {"header", good.substr(0, 9), ": byte 9: truncated IDX header: 3 dimensions need 16"},
      {"cut", good.substr(0, good.size() - 1), ": byte 27: truncated: header says 2x2x3 uint8"},
      {"huge", idx_header(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}) + "x", ": byte 17: truncated"},
      {"extra", good + "zz", ": byte 28: 2 bytes after the data"},
  };
  for (const Case& c : cases) {
    lmlab::test::write_text(dir.file(c.name), c.bytes);
    std::string err = user_error_of([&] { read_idx(dir.file(c.name)); });
    EXPECT_NE(err.find(dir.file(c.name) + c.expected), std::string::npos) << c.name << ": " << err;
  }
  std::string missing = user_error_of([&] { read_idx(dir.file("nope")); });
  EXPECT_NE(missing.find("nope: no such file"), std::string::npos) << missing;
}

TEST(Idx, ImagesAndLabelsMustAgree) {
  TempDir dir;
  lmlab::test::write_text(dir.file("images"), uint8_images());
  lmlab::test::write_text(dir.file("three"), uint8_labels({1, 2, 3}));
  std::string err = user_error_of([&] { read_idx_images(dir.file("images"), dir.file("three")); });
  EXPECT_NE(err.find(dir.file("three") + ": byte 4: 3 labels for 2 images"), std::string::npos) << err;
  err = user_error_of([&] { read_idx_images(dir.file("images"), dir.file("images")); });
  EXPECT_NE(err.find("expected a 1-dimensional uint8 labels file, got 2x2x3"), std::string::npos) << err;
  err = user_error_of([&] { read_idx_images(dir.file("three"), dir.file("three")); });
  EXPECT_NE(err.find(dir.file("three") + ": byte 3: expected images of 3 dimensions"), std::string::npos) << err;
}

TEST(Idx, LabelsPathFollowsTheSharedNaming) {
  TempDir dir;
  for (const char* name : {"t10k-labels-idx1-ubyte.gz", "usps-test-labels-idx1-ubyte.gz"})
    lmlab::test::write_text(dir.file(name), "");
  EXPECT_EQ(idx_labels_path(dir.file("t10k-images-idx3-ubyte.gz")), dir.file("t10k-labels-idx1-ubyte.gz"));
  EXPECT_EQ(idx_labels_path(dir.file("usps-test-images-idx3-float32.gz")), dir.file("usps-test-labels-idx1-ubyte.gz"));
  std::string err = user_error_of([&] { idx_labels_path(dir.file("train-images-idx3-ubyte.gz")); });
  EXPECT_NE(err.find("train-images-idx3-ubyte.gz: its labels file " + dir.file("train-labels-idx1-ubyte.gz") +
                     " does not exist"),
            std::string::npos)
      << err;
  err = user_error_of([&] { idx_labels_path(dir.file("pictures.idx")); });
  EXPECT_NE(err.find("pictures.idx: cannot tell the labels file from the name"), std::string::npos) << err;
}

TEST(Cifar10, RecordsRoundTripAndBadRecordsAreNamed) {
  TempDir dir;
  std::string bytes;
  for (int r = 0; r < 2; ++r) {
    bytes += static_cast<char>(r == 0 ? 6 : 9);
    for (int i = 0; i < 3072; ++i) bytes += static_cast<char>((i * 7 + r) % 256);
  }
  lmlab::test::write_text(dir.file("c.bin"), bytes);
  ImageSet set = read_cifar10(lmlab::test::gzip_copy(dir.file("c.bin")));
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(set.labels[0].item<int64_t>(), 6);
  EXPECT_EQ(set.labels[1].item<int64_t>(), 9);
  // Pixel i of record r is plane i / 1024, row (i % 1024) / 32, column i % 32.
  for (int i : {0, 1, 1023, 1024, 2047, 3071})
    EXPECT_EQ(set.images[1][i / 1024][(i % 1024) / 32][i % 32].item<float>(),
              static_cast<float>((i * 7 + 1) % 256) / 255.0f);

  lmlab::test::write_text(dir.file("cut.bin"), bytes.substr(0, bytes.size() - 5));
  std::string err = user_error_of([&] { read_cifar10(dir.file("cut.bin")); });
  EXPECT_NE(err.find(dir.file("cut.bin") + ": byte 3073: truncated"), std::string::npos) << err;
  bytes[3073] = 10;
  lmlab::test::write_text(dir.file("label.bin"), bytes);
  err = user_error_of([&] { read_cifar10(dir.file("label.bin")); });
  EXPECT_NE(err.find(dir.file("label.bin") + ": byte 3073: record 1 has label 10"), std::string::npos) << err;
}

TEST(SharedVision, IdxFilesHaveTheManifestCounts) {
  LMLAB_SHARED_FILE_OR_SKIP(usps, "vision/usps/usps-test-images-idx3-float32.gz");
  ImageSet u = read_idx_images(usps, idx_labels_path(usps));
  EXPECT_EQ(u.images.sizes(), (std::vector<int64_t>{2007, 1, 16, 16}));
  EXPECT_GE(u.images.min().item<float>(), 0.0f);
  EXPECT_LE(u.images.max().item<float>(), 1.0f);
  EXPECT_EQ(u.labels.max().item<int64_t>(), 9);
  LMLAB_SHARED_FILE_OR_SKIP(mnist, "vision/mnist/t10k-images-idx3-ubyte.gz");
  ImageSet m = read_idx_images(mnist, idx_labels_path(mnist));
  EXPECT_EQ(m.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(m.labels.numel(), 10000);
  LMLAB_SHARED_FILE_OR_SKIP(fashion, "vision/fashion-mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(read_idx_images(fashion, idx_labels_path(fashion)).labels.numel(), 10000);
}

TEST(SharedVision, Cifar10TestRecordsMatchTheManifest) {
  LMLAB_SHARED_FILE_OR_SKIP(path, "vision/cifar10/cifar10-test-first1000.bin.gz");
  ImageSet set = read_cifar10(path);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{1000, 3, 32, 32}));
  const std::vector<int64_t> first_labels{3, 8, 8, 0, 6, 6, 1, 6, 3, 1};
  for (size_t i = 0; i < first_labels.size(); ++i)
    EXPECT_EQ(set.labels[static_cast<int64_t>(i)].item<int64_t>(), first_labels[i]);
  const std::vector<int> red{158, 159, 165, 166, 160, 156, 162, 159, 158, 159};
  for (size_t i = 0; i < red.size(); ++i)
    EXPECT_EQ(set.images[0][0][0][static_cast<int64_t>(i)].item<float>(), static_cast<float>(red[i]) / 255.0f);
  EXPECT_EQ(set.labels.eq(3).sum().item<int64_t>(), 103);  // MANIFEST's test class counts
}
