// The safetensors header reader, without libtorch (safetensors.h loads the tensors with it), so
// that the fuzz target runs it under ASan/UBSan in a small torch-free build
// (scripts/fuzz-sanitized.sh). Format: [u64 little-endian N][N bytes of JSON header][data]
//   header = {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"k": "v"}}; offsets are relative to the end of the header.
// Everything a malformed file could get wrong is checked before a tensor byte is touched:
// header length within the file, valid JSON, known dtypes, shapes that match the byte ranges,
// ranges in bounds, contiguous and non-overlapping (the data section is tiled exactly).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lmlab::model {

struct SafetensorsDType {
  const char* name;  // "F32"
  int64_t bytes;     // per element
};
// F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL; nullptr for any other name.
const SafetensorsDType* safetensors_dtype(const std::string& name);
std::vector<std::string> safetensors_dtype_names();

struct SafetensorsEntry {
  std::string name;
  const SafetensorsDType* dtype = nullptr;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range in the data section
};

struct SafetensorsHeader {
  uint64_t data_start = 0;                      // file offset of the data section
  std::vector<SafetensorsEntry> entries;        // in data order (the file's order)
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// `bytes`: the whole file. UserError "<path>: byte <offset>: not a valid safetensors file: ..."
// for anything wrong.
SafetensorsHeader parse_safetensors_header(const std::string& bytes, const std::string& path);

}  // namespace lmlab::model
