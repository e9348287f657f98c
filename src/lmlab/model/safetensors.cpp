// safetensors reader/writer (format: https://huggingface.co/docs/safetensors).
//   [u64 little-endian N][N bytes of JSON header, space-padded][tensor bytes]
// header = {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//           "__metadata__": {"k": "v"}}; offsets are relative to the end of the header.
// Reading checks everything a malformed file could get wrong before touching tensor bytes:
// header length within the file, valid JSON, known dtypes, shapes that match the byte ranges,
// ranges that are in bounds, contiguous and non-overlapping (the format requires the data
// section to be fully covered, without holes).
#include "lmlab/model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"

namespace lmlab::model {

namespace {

// The header is JSON; anything past 100 MB is not a header but a corrupt length field.
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

struct DType {
  const char* name;
  torch::ScalarType type;
  int64_t bytes;
};

const DType kDTypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},  {"I8", torch::kInt8, 1},    {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DType* dtype_by_name(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DType& dtype_of(torch::ScalarType t, const std::string& tensor_name) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  throw std::runtime_error("safetensors: tensor '" + tensor_name + "' has unsupported dtype " +
                           std::string(c10::toString(t)));
}

std::vector<std::string> dtype_names() {
  std::vector<std::string> out;
  for (const auto& d : kDTypes) out.push_back(d.name);
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.contains(name)) throw std::runtime_error("safetensors: duplicate tensor name '" + name + "'");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const DType& d = dtype_of(c.scalar_type(), name);
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * d.bytes;
    header[name] = {{"dtype", d.name}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string json = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  json.append((8 - json.size() % 8) % 8, ' ');
  uint64_t n = json.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));

  AtomicFile out(path);
  out.write(len, 8);
  out.write(json);
  for (const auto& c : data) out.write(c.data_ptr(), c.numel() * c.element_size());
  out.commit();
}

NamedTensors load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::string bytes = read_file(path);
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

  const uint64_t data_start = 8 + n, data_size = bytes.size() - data_start;
  struct Entry {
    std::string name;
    const DType* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) fail(8, "__metadata__ is not an object");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) fail(8, "__metadata__ value '" + k + "' is not a string");
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { fail(8, "tensor '" + name + "': " + what); };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) bad("dtype is not a string");
    const DType* d = dtype_by_name(info["dtype"].get<std::string>());
    if (!d)
      bad("unsupported dtype '" + info["dtype"].get<std::string>() + "'" +
          did_you_mean(info["dtype"].get<std::string>(), dtype_names()));
    Entry e{name, d, {}, 0, 0};
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
    if (e.end - e.begin != numel * d->bytes)
      bad("shape and dtype need " + std::to_string(numel * d->bytes) + " bytes but data_offsets span " +
          std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }

  // The byte ranges must tile the data section exactly: no overlap, no hole, nothing after.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expect = 0;
  for (const Entry* e : by_offset) {
    if (e->begin < expect) fail(static_cast<int64_t>(data_start + e->begin), "tensor '" + e->name + "' overlaps the previous tensor");
    if (e->begin > expect) fail(static_cast<int64_t>(data_start + expect), "hole in the data before tensor '" + e->name + "'");
    expect = e->end;
  }
  if (expect != data_size)
    fail(static_cast<int64_t>(data_start + expect), std::to_string(data_size - expect) + " bytes after the last tensor");

  // nlohmann::json sorts keys; the file's order is the order of the data, which by_offset gives.
  NamedTensors out;
  for (const Entry* e : by_offset) {
    torch::Tensor t = torch::empty(e->shape, torch::TensorOptions().dtype(e->dtype->type));
    if (e->end > e->begin) std::memcpy(t.data_ptr(), bytes.data() + data_start + e->begin, e->end - e->begin);
    out.emplace_back(e->name, t);
  }
  return out;
}

}  // namespace lmlab::model
