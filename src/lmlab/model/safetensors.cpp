// safetensors reader/writer (format: https://huggingface.co/docs/safetensors). The header and
// every check of it live in safetensors_header.cpp (no libtorch: the fuzz target runs it under
// sanitizers); this file maps its dtypes to torch's and copies the tensor bytes.
#include "lmlab/model/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "lmlab/common/files.h"
#include "lmlab/model/safetensors_header.h"

namespace lmlab::model {

namespace {

struct TorchDType {
  const char* name;
  torch::ScalarType type;
};

const TorchDType kTorchDTypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool},
};

const TorchDType& dtype_of(torch::ScalarType t, const std::string& tensor_name) {
  for (const auto& d : kTorchDTypes)
    if (d.type == t) return d;
  throw std::runtime_error("safetensors: tensor '" + tensor_name + "' has unsupported dtype " +
                           std::string(c10::toString(t)));
}

torch::ScalarType torch_type(const SafetensorsDType& d) {
  for (const auto& t : kTorchDTypes)
    if (std::string(d.name) == t.name) return t.type;
  throw std::logic_error(std::string("safetensors: no torch type for ") + d.name);
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
    const TorchDType& d = dtype_of(c.scalar_type(), name);
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * static_cast<uint64_t>(c.element_size());
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
  const std::string bytes = read_file(path);
  SafetensorsHeader header = parse_safetensors_header(bytes, path);
  if (metadata)
    for (auto& [k, v] : header.metadata) (*metadata)[k] = std::move(v);
  NamedTensors out;
  for (const SafetensorsEntry& e : header.entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(torch_type(*e.dtype)));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), bytes.data() + header.data_start + e.begin, e.end - e.begin);
    out.emplace_back(e.name, t);
  }
  return out;
}

}  // namespace lmlab::model
