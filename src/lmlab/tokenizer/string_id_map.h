// Token string -> id for a vocabulary known up front (tokenizer.json's 100k entries, 700k lookups
// while reading its merges; the encoder's whole-token table): open addressing with linear probing
// over flat 16-byte slots (the key's address, length and id), so a probe costs one cache line
// where std::unordered_map chases a bucket, a node and the key; the key's bytes are read only
// when the lengths agree. (Slots that also held the hash were twice the size: the 262k slots of
// a 100k vocabulary were 8 MB of fresh memory to fault in, a tenth of a warm start.) The viewed
// bytes must outlive the map; keys are shorter than 4 GiB.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

namespace lmlab::tokenizer {

class StringIdMap {
 public:
  static constexpr uint32_t kMissing = 0xFFFFFFFFu;

  explicit StringIdMap(size_t expected) {
    size_t n = 16;
    while (n < expected * 2) n *= 2;
    slots_.resize(n);
  }

  // Adds key -> id; false (and no change) when the key is already there.
  bool insert(std::string_view key, uint32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    for (size_t i = hash(key) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& s = slots_[i];
      if (s.id == kMissing) {
        s = {key.data(), static_cast<uint32_t>(key.size()), id};
        ++size_;
        return true;
      }
      if (s.is(key)) return false;
    }
  }

  uint32_t find(std::string_view key) const {
    for (size_t i = hash(key) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.id == kMissing) return kMissing;
      if (s.is(key)) return s.id;
    }
  }

  // Starts loading `key`'s slot: a loop of inserts that prefetches a few keys ahead waits for
  // memory once per batch instead of once per key.
  void prefetch(std::string_view key) const { __builtin_prefetch(&slots_[hash(key) & (slots_.size() - 1)]); }

  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t id = kMissing;
    bool is(std::string_view key) const { return size == key.size() && std::memcmp(data, key.data(), size) == 0; }
  };

  static uint64_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.id != kMissing) insert({s.data, s.size}, s.id);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace lmlab::tokenizer
