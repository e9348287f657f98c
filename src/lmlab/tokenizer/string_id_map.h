// Token string -> id for a vocabulary known up front (tokenizer.json's 100k entries, 700k lookups
// while reading its merges; the encoder's whole-token table): open addressing with linear probing
// over flat slots, each holding the key's hash beside its view, so a probe costs one cache line
// where std::unordered_map chases a bucket, a node and the key. The viewed bytes must outlive
// the map.
#pragma once
#include <cstdint>
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
    const uint64_t h = hash(key);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      Slot& s = slots_[i];
      if (s.id == kMissing) {
        s = {h, key, id};
        ++size_;
        return true;
      }
      if (s.hash == h && s.key == key) return false;
    }
  }

  uint32_t find(std::string_view key) const {
    const uint64_t h = hash(key);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.id == kMissing) return kMissing;
      if (s.hash == h && s.key == key) return s.id;
    }
  }

  bool empty() const { return size_ == 0; }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::string_view key;
    uint32_t id = kMissing;
  };

  static uint64_t hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.id != kMissing) insert(s.key, s.id);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace lmlab::tokenizer
