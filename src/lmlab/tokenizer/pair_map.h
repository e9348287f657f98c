// An open-addressing hash map from a token pair (packed into 64 bits) to a 32-bit value: the
// trainer's pair index and the encoder's merge table. Linear probing, no erase (pairs whose
// count falls to zero keep their slot), grows at 50% load.
#pragma once
#include <cstdint>
#include <vector>

namespace lmlab::tokenizer {

inline uint64_t pack_pair(uint32_t left, uint32_t right) { return (uint64_t(left) << 32) | right; }

class PairMap {
 public:
  static constexpr uint32_t kMissing = 0xFFFFFFFFu;

  explicit PairMap(size_t expected = 1024) { rehash(expected * 2); }

  uint32_t find(uint64_t key) const {
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (values_[i] == kMissing) return kMissing;
      if (keys_[i] == key) return values_[i];
    }
  }

  // The value stored for `key`, inserting `value` first if the key is new.
  uint32_t find_or_insert(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (values_[i] == kMissing) {
        keys_[i] = key;
        values_[i] = value;
        ++size_;
        return value;
      }
      if (keys_[i] == key) return values_[i];
    }
  }

  size_t size() const { return size_; }

 private:
  // The product's top bits, which every bit of the key reaches. (Bits 17.. of it, as before,
  // took their low 15 bits from `right` alone: cl100k's merges sharing a right token piled up
  // in 16 clusters, and a table of 233k merges cost ~60 ns a lookup.)
  size_t slot(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }

  void rehash(size_t capacity) {
    size_t n = 16;
    while (n < capacity) n *= 2;
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<uint32_t> old_values = std::move(values_);
    keys_.assign(n, 0);
    values_.assign(n, kMissing);
    mask_ = n - 1;
    shift_ = 64;
    for (size_t m = n; m > 1; m >>= 1) --shift_;
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i)
      if (old_values[i] != kMissing) find_or_insert(old_keys[i], old_values[i]);
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> values_;
  size_t mask_ = 0, size_ = 0;
  int shift_ = 64;
};

}  // namespace lmlab::tokenizer
