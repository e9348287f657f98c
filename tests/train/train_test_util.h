// What the train tests share: learnable synthetic token data and reading a run's JSONL files.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "lmlab/data/shards.h"
#include "testing.h"

namespace lmlab::test {

// Learnable synthetic text: runs "a, a+1, a+2, 7a mod 60, <eot = 63>" with random a.
inline std::vector<uint32_t> synthetic(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> ids;
  while (ids.size() < n) {
    uint32_t a = rng() % 60;
    for (uint32_t t : {a, (a + 1) % 60, (a + 2) % 60, (7 * a) % 60, 63u}) ids.push_back(t);
  }
  ids.resize(n);
  return ids;
}

// train.bin (20,000 tokens), val.bin (`val_tokens`) and meta.json (vocabulary 64) in `dir`.
inline void write_synthetic_shards(const TempDir& dir, size_t val_tokens = 2000) {
  lmlab::data::write_token_shard(dir.file("train.bin"), synthetic(20000, 1), 2);
  lmlab::data::write_token_shard(dir.file("val.bin"), synthetic(val_tokens, 2), 2);
  write_text(dir.file("meta.json"), R"({"vocab_size": 64, "eot_id": 63,
    "train": {"file": "train.bin"}, "val": {"file": "val.bin"}})");
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The training-step lines of a run's metrics.jsonl (those with a loss), without the fields that
// depend on timing (tokens_per_s, mfu).
inline std::vector<nlohmann::json> step_lines(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  for (nlohmann::json j : read_jsonl(run_dir + "/metrics.jsonl"))
    if (j.contains("loss")) {
      j.erase("tokens_per_s");
      j.erase("mfu");
      out.push_back(j);
    }
  return out;
}

}  // namespace lmlab::test
