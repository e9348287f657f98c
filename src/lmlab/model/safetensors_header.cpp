// The safetensors header reader (see safetensors_header.h); no libtorch.
#include "lmlab/model/safetensors_header.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/common/json_text.h"

namespace lmlab::model {

namespace {

// The header is JSON; anything past 100 MB is not a header but a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

const SafetensorsDType kDTypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1},
};

}  // namespace

const SafetensorsDType* safetensors_dtype(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

std::vector<std::string> safetensors_dtype_names() {
  std::vector<std::string> out;
  for (const auto& d : kDTypes) out.push_back(d.name);
  return out;
}

SafetensorsHeader parse_safetensors_header(const std::string& bytes, const std::string& path) {
  auto fail = [&](int64_t at, const std::string& problem) {
    throw_user_error(SourcePos{path, 0, 0, at}, "not a valid safetensors file: " + problem);
  };
  if (bytes.size() < 8) fail(0, "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > kMaxHeaderBytes || n > bytes.size() - 8)
    fail(0, "header length " + std::to_string(n) + " exceeds the file size " + std::to_string(bytes.size()));

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  } catch (const nlohmann::json::parse_error& e) {
    fail(8 + static_cast<int64_t>(e.byte) - 1, "header is not valid JSON");
  } catch (const nlohmann::json::exception& e) {  // a number no double holds: 1e400
    fail(8, "header is not valid JSON: " + json_problem(e));
  }
  if (!header.is_object()) fail(8, "header is not a JSON object");

  SafetensorsHeader out;
  out.data_start = 8 + n;
  const uint64_t data_size = bytes.size() - out.data_start;
  std::vector<SafetensorsEntry>& entries = out.entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(8, "__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(8, "__metadata__ value '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { fail(8, "tensor '" + name + "': " + what); };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) bad("dtype is not a string");
    const std::string dtype = info["dtype"].get<std::string>();
    const SafetensorsDType* d = safetensors_dtype(dtype);
    if (!d) bad("unsupported dtype '" + dtype + "'" + did_you_mean(dtype, safetensors_dtype_names()));
    SafetensorsEntry e{name, d, {}, 0, 0};
    if (!info["shape"].is_array()) bad("shape is not an array");
    uint64_t numel = 1;
    for (const auto& s : info["shape"]) {
      if (!s.is_number_unsigned()) bad("shape has a non-integer or negative dimension");
      uint64_t dim = s.get<uint64_t>();
      // Each dimension on its own too: after a 0, a 2^63 would pass the product and turn negative.
      if (dim > (uint64_t(1) << 62) || (dim != 0 && numel > (uint64_t(1) << 62) / dim)) bad("shape is too large");
      numel *= dim;
      e.shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("data_offsets must be two non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    if (e.begin > e.end) bad("data_offsets end before they begin");
    if (e.end > data_size)
      bad("data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + ") run past the " +
          std::to_string(data_size) + " data bytes (truncated file?)");
    // numel * bytes can pass 2^64 (2^61 F64 elements) and wrap to the span: compared unwrapped.
    const uint64_t size = static_cast<uint64_t>(d->bytes);
    const bool fits = numel <= UINT64_MAX / size;
    if (!fits || e.end - e.begin != numel * size)
      bad("shape and dtype need " + (fits ? std::to_string(numel * size) : std::to_string(numel) + " x " + std::to_string(size)) +
          " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }

  // The byte ranges must tile the data section exactly: no overlap, no hole, nothing after.
  // nlohmann::json sorts keys; the file's order is the order of the data.
  std::sort(entries.begin(), entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const SafetensorsEntry& e : entries) {
    if (e.begin < expect) fail(static_cast<int64_t>(out.data_start + e.begin), "tensor '" + e.name + "' overlaps the previous tensor");
    if (e.begin > expect) fail(static_cast<int64_t>(out.data_start + expect), "hole in the data before tensor '" + e.name + "'");
    expect = e.end;
  }
  if (expect != data_size)
    fail(static_cast<int64_t>(out.data_start + expect), std::to_string(data_size - expect) + " bytes after the last tensor");
  return out;
}

}  // namespace lmlab::model
