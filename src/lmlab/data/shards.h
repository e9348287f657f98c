// Token shards: the training corpus as one flat array of token ids, read by mmap.
// File layout (little-endian):
//   bytes 0..7   magic "LMLABTOK"
//   bytes 8..11  u32 version (1)
//   bytes 12..15 u32 bytes per id: 2 (uint16, vocabularies up to 65536) or 4 (uint32)
//   bytes 16..23 u64 number of ids
//   bytes 24..31 reserved (0)
//   then the ids. Documents are separated by the tokenizer's <|endoftext|> id.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmlab::data {

constexpr char kShardMagic[8] = {'L', 'M', 'L', 'A', 'B', 'T', 'O', 'K'};
constexpr uint32_t kShardVersion = 1;
constexpr int64_t kShardHeaderBytes = 32;

// Smallest id width that holds every id below `vocab_size`.
int id_bytes_for_vocab(uint64_t vocab_size);

// Writes a shard atomically. `id_bytes` is 2 or 4; an id that does not fit is an error.
void write_token_shard(const std::string& path, const std::vector<uint32_t>& ids, int id_bytes);

// DIR/meta.json written by `lmlab data prepare` (see prepare.h); UserError naming it when
// missing or malformed.
nlohmann::json read_data_meta(const std::string& dir);

// A read-only memory-mapped shard. The header is validated on open (UserError naming the
// file and the byte offset of what is wrong); reads are bounds-checked.
class TokenShard {
 public:
  explicit TokenShard(const std::string& path);
  ~TokenShard();
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  int64_t size() const { return count_; }
  int id_bytes() const { return id_bytes_; }
  const std::string& path() const { return path_; }
  uint32_t at(int64_t i) const;
  // Copies ids [begin, begin + n) into `out` as int64 (the dtype of model inputs).
  void read(int64_t begin, int64_t n, int64_t* out) const;
  // Index of the first id >= limit, or -1: one max pass over the mapped ids (a second pass only
  // when one is found).
  int64_t first_id_at_least(uint64_t limit) const;

 private:
  std::string path_;
  const unsigned char* map_ = nullptr;
  size_t map_bytes_ = 0;
  int64_t count_ = 0;
  int id_bytes_ = 2;
};

// UserError "<shard>: byte <offset>: token <i> is id <id>, not below the vocab_size <n> of
// <vocab_source>" for the first such id. Called when shards are opened, so an id the model's
// embedding cannot look up is reported once, at its place in the file, not as a libtorch
// index error in the middle of a run.
void check_token_ids(const TokenShard& shard, int64_t vocab_size, const std::string& vocab_source);

// counts[id] = occurrences of id in the shard, for every id below vocab_size (MaskMoE's frequent
// tokens, the frequency buckets of `lmlab eval`); UserError naming the shard on a larger id.
std::vector<int64_t> count_token_ids(const TokenShard& shard, int64_t vocab_size);

}  // namespace lmlab::data
