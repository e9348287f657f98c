// safetensors: exact round trips, a byte layout checked by hand against the format, and clear
// UserErrors (never a crash) on truncated or malformed files.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/model/safetensors.h"
#include "testing.h"

using lmlab::model::load_safetensors;
using lmlab::model::NamedTensors;
using lmlab::model::save_safetensors;
using lmlab::test::TempDir;

namespace {

// A file assembled by hand: 8-byte length, header JSON, data.
std::string raw_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

std::string load_error(const std::string& path) {
  try {
    load_safetensors(path);
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripIsExactForEveryDtypeAndKeepsOrder) {
  TempDir dir;
  torch::manual_seed(0);
  NamedTensors in = {
      {"z.weight", torch::randn({3, 5})},
      {"a.half", torch::randn({4}).to(torch::kFloat16)},
      {"m.bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"ids", torch::arange(7, torch::kInt64)},
      {"i32", torch::arange(3, torch::kInt32)},
      {"bytes", torch::arange(5, torch::kUInt8)},
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::randn({4, 6}).t()},  // non-contiguous input is stored contiguous
  };
  std::map<std::string, std::string> meta_in = {{"format", "pt"}, {"step", "12"}};
  save_safetensors(dir.file("m.safetensors"), in, meta_in);
  std::map<std::string, std::string> meta_out;
  NamedTensors out = load_safetensors(dir.file("m.safetensors"), &meta_out);
  EXPECT_EQ(meta_out, meta_in);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].first, in[i].first);
    EXPECT_EQ(out[i].second.scalar_type(), in[i].second.scalar_type()) << in[i].first;
    EXPECT_EQ(out[i].second.sizes(), in[i].second.sizes()) << in[i].first;
    EXPECT_TRUE(torch::equal(out[i].second, in[i].second)) << in[i].first;
  }
}

TEST(Safetensors, ByteLayoutMatchesTheFormat) {
  TempDir dir;
  save_safetensors(dir.file("t.safetensors"), {{"x", torch::tensor({1.0f, -2.0f})}});
  std::string bytes = lmlab::test::read_text(dir.file("t.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  ASSERT_EQ(bytes.size(), 8 + n + 8);
  EXPECT_EQ(n % 8, 0u);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["x"]["dtype"], "F32");
  EXPECT_EQ(header["x"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["x"]["data_offsets"], nlohmann::json::array({0, 8}));
  float v[2];
  std::memcpy(v, bytes.data() + 8 + n, 8);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[1], -2.0f);
}

TEST(Safetensors, ReadsAHandWrittenFile) {
  TempDir dir;
  std::string data(6, '\0');
  int16_t vals[3] = {1, -2, 300};
  std::memcpy(data.data(), vals, 6);
  lmlab::test::write_text(dir.file("h.safetensors"),
                          raw_file(R"({"v":{"dtype":"I16","shape":[3],"data_offsets":[0,6]}})", data));
  NamedTensors t = load_safetensors(dir.file("h.safetensors"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(torch::equal(t[0].second, torch::tensor({1, -2, 300}, torch::kInt16)));
}

TEST(Safetensors, TruncatedFileIsAUserError) {
  TempDir dir;
  save_safetensors(dir.file("t.safetensors"), {{"x", torch::randn({16})}});
  std::string bytes = lmlab::test::read_text(dir.file("t.safetensors"));
  lmlab::test::write_text(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() - 4));
  EXPECT_NE(load_error(dir.file("cut.safetensors")).find("truncated"), std::string::npos);
  lmlab::test::write_text(dir.file("tiny.safetensors"), bytes.substr(0, 5));
  EXPECT_NE(load_error(dir.file("tiny.safetensors")).find("shorter than"), std::string::npos);
  lmlab::test::write_text(dir.file("hdr.safetensors"), bytes.substr(0, 20));
  EXPECT_NE(load_error(dir.file("hdr.safetensors")).find("header length"), std::string::npos);
}

TEST(Safetensors, MalformedHeadersAreUserErrors) {
  TempDir dir;
  struct Case {
    std::string header, data, expect;
  };
  std::string eight(8, '\0');
  std::vector<Case> cases = {
      {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", eight, "not valid JSON"},
      {R"([1,2])", "", "not a JSON object"},
      {R"({"x":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight, "unsupported dtype 'F33'"},
      {R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight, "need 12 bytes"},
      {R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight, "negative dimension"},
      {R"({"x":{"dtype":"F32","shape":[2]}})", eight, "needs dtype, shape and data_offsets"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
       eight, "overlaps"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight, "hole in the data"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight, "4 bytes after the last tensor"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", eight, "end before they begin"},
      // Issue #23 class 5: a number no double holds; a dimension of 2^63 after a 0 (product 0).
      {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":1e400})", eight, "number overflow parsing '1e400'"},
      {R"({"x":{"dtype":"F32","shape":[0,9223372036854775808],"data_offsets":[0,0]}})", "", "shape is too large"},
  };
  for (const auto& c : cases) {
    lmlab::test::write_text(dir.file("bad.safetensors"), raw_file(c.header, c.data));
    std::string err = load_error(dir.file("bad.safetensors"));
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.header << " -> " << err;
    EXPECT_NE(err.find("bad.safetensors"), std::string::npos) << err;
  }
}

TEST(Safetensors, MissingFileIsAUserErrorAndFailedWriteLeavesOldFile) {
  TempDir dir;
  EXPECT_FALSE(load_error(dir.file("nope.safetensors")).empty());
  save_safetensors(dir.file("keep.safetensors"), {{"x", torch::ones({2})}});
  EXPECT_ANY_THROW(save_safetensors(dir.file("keep.safetensors"),
                                    {{"x", torch::ones({2})}, {"x", torch::zeros({2})}}));
  NamedTensors t = load_safetensors(dir.file("keep.safetensors"));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_TRUE(torch::equal(t[0].second, torch::ones({2})));
}
