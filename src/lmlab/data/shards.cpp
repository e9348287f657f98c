// Token shard writer and mmap reader (format in shards.h).
#include "lmlab/data/shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"
#include "lmlab/common/limits.h"

namespace lmlab::data {

namespace {

void put_le(unsigned char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

int id_bytes_for_vocab(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

void write_token_shard(const std::string& path, const std::vector<uint32_t>& ids, int id_bytes) {
  if (id_bytes != 2 && id_bytes != 4) throw std::invalid_argument("token shard: id width must be 2 or 4 bytes");
  unsigned char header[kShardHeaderBytes] = {};
  std::memcpy(header, kShardMagic, 8);
  put_le(header + 8, kShardVersion, 4);
  put_le(header + 12, static_cast<uint64_t>(id_bytes), 4);
  put_le(header + 16, ids.size(), 8);
  std::vector<unsigned char> body(ids.size() * id_bytes);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (id_bytes == 2 && ids[i] > 0xFFFF)
      throw std::invalid_argument("token shard: id " + std::to_string(ids[i]) + " does not fit in uint16");
    put_le(body.data() + i * id_bytes, ids[i], id_bytes);
  }
  AtomicFile out(path);
  out.write(header, sizeof header);
  out.write(body.data(), body.size());
  out.commit();
}

nlohmann::json read_data_meta(const std::string& dir) {
  std::string path = dir + "/meta.json";
  if (!file_exists(path)) throw_user_error(path, "missing; prepare the data with `lmlab data prepare --output " + dir + "`");
  const nlohmann::json meta = parse_json(read_file(path), SourcePos{path, 1, 1});
  if (!meta.is_object()) throw_user_error(path, "expected a JSON object, got " + json_type_name(meta));
  for (const char* key : {"vocab_size", "eot_id", "train", "val"})
    if (!meta.contains(key)) throw_user_error(path, std::string("has no '") + key + "' entry");
  // The fields the trainers read unchecked: their types and ranges are checked here, once.
  json_int(meta, "vocab_size", 1, kMaxVocabSize, path);
  json_int(meta, "eot_id", 0, kMaxVocabSize - 1, path);  // against vocab_size: check_token_ids, with the shards
  for (const char* split : {"train", "val"}) {
    const nlohmann::json& s = meta[split];
    if (!s.is_object()) throw_user_error(path, std::string(split) + ": expected an object, got " + json_type_name(s));
    if (s.contains("file") && !s["file"].is_string())
      throw_user_error(path, std::string(split) + ".file: expected a string, got " + json_type_name(s["file"]));
  }
  if (meta.contains("tokenizer") && !meta["tokenizer"].is_string())
    throw_user_error(path, "tokenizer: expected a string, got " + json_type_name(meta["tokenizer"]));
  return meta;
}

TokenShard::TokenShard(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw_user_error(path, "cannot open token shard (run `lmlab data prepare` first?)");
  struct stat st {};
  ::fstat(fd, &st);
  map_bytes_ = static_cast<size_t>(st.st_size);
  if (map_bytes_ < static_cast<size_t>(kShardHeaderBytes)) {
    ::close(fd);
    throw_user_error(SourcePos{path, 0, 0, 0}, "token shard is " + std::to_string(map_bytes_) +
                                                   " bytes, shorter than its 32-byte header");
  }
  void* m = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw_user_error(path, "cannot mmap token shard");
  map_ = static_cast<const unsigned char*>(m);
  auto fail = [&](int64_t at, const std::string& problem) {
    ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
    map_ = nullptr;
    throw_user_error(SourcePos{path, 0, 0, at}, problem);
  };
  if (std::memcmp(map_, kShardMagic, 8) != 0) fail(0, "not a token shard (bad magic; expected LMLABTOK)");
  uint64_t version = get_le(map_ + 8, 4);
  if (version != kShardVersion) fail(8, "unsupported token shard version " + std::to_string(version));
  id_bytes_ = static_cast<int>(get_le(map_ + 12, 4));
  if (id_bytes_ != 2 && id_bytes_ != 4) fail(12, "token id width must be 2 or 4 bytes, not " + std::to_string(id_bytes_));
  uint64_t count = get_le(map_ + 16, 8);
  uint64_t expect = kShardHeaderBytes + count * static_cast<uint64_t>(id_bytes_);
  if (count > (uint64_t(1) << 60) || expect != map_bytes_)
    fail(16, "header says " + std::to_string(count) + " ids (" + std::to_string(expect) + " bytes) but the file has " +
                 std::to_string(map_bytes_) + " bytes");
  count_ = static_cast<int64_t>(count);
}

TokenShard::~TokenShard() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_bytes_);
}

uint32_t TokenShard::at(int64_t i) const {
  if (i < 0 || i >= count_) throw std::out_of_range("token shard " + path_ + ": index " + std::to_string(i));
  return static_cast<uint32_t>(get_le(map_ + kShardHeaderBytes + i * id_bytes_, id_bytes_));
}

void TokenShard::read(int64_t begin, int64_t n, int64_t* out) const {
  if (begin < 0 || n < 0 || begin + n > count_)
    throw std::out_of_range("token shard " + path_ + ": range [" + std::to_string(begin) + ", " +
                            std::to_string(begin + n) + ") of " + std::to_string(count_));
  const unsigned char* p = map_ + kShardHeaderBytes + begin * id_bytes_;
  if (id_bytes_ == 2) {
    for (int64_t i = 0; i < n; ++i) out[i] = p[2 * i] | (p[2 * i + 1] << 8);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(get_le(p + 4 * i, 4));
  }
}

namespace {

template <class Id>
int64_t first_at_least(const unsigned char* bytes, int64_t n, uint64_t limit) {
  // The header is 32 bytes and the map page-aligned, so the ids are aligned; shards are
  // little-endian like every host lmlab builds on (static_assert above TokenShard::first_id_at_least).
  const Id* ids = reinterpret_cast<const Id*>(bytes);
  Id max = 0;
  for (int64_t i = 0; i < n; ++i) max = std::max(max, ids[i]);  // vectorises; the common case ends here
  if (max < limit) return -1;
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] >= limit) return i;
  return -1;
}

}  // namespace

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "first_id_at_least reads the little-endian ids in place");

int64_t TokenShard::first_id_at_least(uint64_t limit) const {
  const unsigned char* ids = map_ + kShardHeaderBytes;
  return id_bytes_ == 2 ? first_at_least<uint16_t>(ids, count_, limit) : first_at_least<uint32_t>(ids, count_, limit);
}

void check_token_ids(const TokenShard& shard, int64_t vocab_size, const std::string& vocab_source) {
  const int64_t i = shard.first_id_at_least(static_cast<uint64_t>(vocab_size));
  if (i < 0) return;
  throw_user_error(SourcePos{shard.path(), 0, 0, kShardHeaderBytes + i * shard.id_bytes()},
                   "token " + std::to_string(i) + " is id " + std::to_string(shard.at(i)) + ", not below the vocab_size " +
                       std::to_string(vocab_size) + " of " + vocab_source);
}

std::vector<int64_t> count_token_ids(const TokenShard& shard, int64_t vocab_size) {
  std::vector<int64_t> counts(static_cast<size_t>(vocab_size), 0);
  for (int64_t i = 0; i < shard.size(); ++i) {
    const uint32_t id = shard.at(i);
    if (id >= static_cast<uint64_t>(vocab_size))
      throw_user_error(shard.path(), "token " + std::to_string(i) + " is id " + std::to_string(id) +
                                         ", not below the model's vocab_size " + std::to_string(vocab_size));
    ++counts[id];
  }
  return counts;
}

}  // namespace lmlab::data
