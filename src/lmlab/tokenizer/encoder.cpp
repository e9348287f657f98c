// BPE encoder: min-rank merging per pre-token (a small rank array for short pieces, a heap over
// a linked list for long ones: O(n log n), so a megabyte of spaces is not quadratic), then the
// O(1) demolish table of Scaffold-BPE, with a per-thread cache of finished pre-tokens.
#include "lmlab/tokenizer/encoder.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <queue>
#include <thread>

#include "lmlab/common/error.h"

namespace lmlab::tokenizer {
namespace {

constexpr uint32_t kNone = PairMap::kMissing;

std::atomic<uint64_t> next_serial{1};

uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
  return h ^ (h >> 29);
}

// Finished pre-tokens of one encoder on this thread: an open-addressing table over an arena of
// key bytes and an arena of ids (a node-based map cost ~3x more per lookup). A slot also holds
// the key's first 8 bytes and, for a piece of one token, that id, so the common hit (a short
// word) reads one slot and neither arena.
struct PieceCache {
  struct Slot {
    uint64_t hash, head;                        // head: key bytes 0..7, zero-padded
    uint32_t key_at, key_len, ids_at, ids_len;  // key_len == 0: empty slot (pieces are never empty)
  };                                            // ids_len == 1: ids_at is the id itself
  uint64_t owner = 0;
  std::string keys;
  std::vector<uint32_t> ids;
  std::vector<Slot> slots = std::vector<Slot>(1 << 12);
  size_t used = 0;

  static uint64_t head_of(std::string_view piece) {
    uint64_t head = 0;
    std::memcpy(&head, piece.data(), std::min<size_t>(piece.size(), 8));
    return head;
  }
  void reset(uint64_t serial) {
    owner = serial;
    keys.clear();
    ids.clear();
    slots.assign(1 << 12, Slot{});
    used = 0;
  }
  const Slot* find(std::string_view piece, uint64_t h, uint64_t head) const {
    for (size_t i = h & (slots.size() - 1);; i = (i + 1) & (slots.size() - 1)) {
      const Slot& s = slots[i];
      if (s.key_len == 0) return nullptr;
      if (s.hash == h && s.head == head && s.key_len == piece.size() &&
          (piece.size() <= 8 || std::memcmp(keys.data() + s.key_at + 8, piece.data() + 8, piece.size() - 8) == 0))
        return &s;
    }
  }
  void insert(std::string_view piece, uint64_t h, uint64_t head, uint32_t ids_at, uint32_t ids_len) {
    if ((used + 1) * 2 > slots.size()) {
      std::vector<Slot> old(slots.size() * 2);
      old.swap(slots);
      for (const Slot& s : old)
        if (s.key_len) place(s);
    }
    place({h, head, static_cast<uint32_t>(keys.size()), static_cast<uint32_t>(piece.size()), ids_at, ids_len});
    if (piece.size() > 8) keys.append(piece.data(), piece.size());  // shorter ones live in `head`
    ++used;
  }
  void place(const Slot& s) {
    size_t i = s.hash & (slots.size() - 1);
    while (slots[i].key_len) i = (i + 1) & (slots.size() - 1);
    slots[i] = s;
  }
};

}  // namespace

Encoder::Encoder(const Model& model)
    : model_(model), pretokenizer_(model.pattern, model.split_digits), merge_rank_(model.merges.size() + 16),
      cuttable_(pretokenizer_name(model.pattern) != "custom"), serial_(next_serial.fetch_add(1)) {
  for (uint32_t r = 0; r < model.merges.size(); ++r)
    merge_rank_.find_or_insert(pack_pair(model.merges[r].left, model.merges[r].right), r);
  for (uint32_t& id : byte_id_) id = kNone;
  for (uint32_t id = 0; id < model.tokens.size(); ++id)
    if (model.tokens[id].size() == 1 && !model.is_scaffold(id)) {
      bool special = false;
      for (const auto& sp : model.specials) special |= sp.second == id;
      if (!special) byte_id_[static_cast<unsigned char>(model.tokens[id][0])] = id;
    }
  for (int b = 0; b < 256; ++b)
    if (byte_id_[b] == kNone) throw UserError("tokenizer: byte " + std::to_string(b) + " has no token");
  has_scaffold_ = model.scaffold_size() > 0;
  if (has_scaffold_) {  // plain BPE (every official vocabulary) never reads the table: not built
    std::vector<std::vector<uint32_t>> table = demolish_table(model);
    for (uint32_t id = 0; id < table.size(); ++id) {
      demolish_begin_.push_back(static_cast<uint32_t>(demolish_ids_.size()));
      demolish_ids_.insert(demolish_ids_.end(), table[id].begin(), table[id].end());
    }
    demolish_begin_.push_back(static_cast<uint32_t>(demolish_ids_.size()));
  }
  for (const auto& [content, id] : model.specials) {
    special_contents_.push_back(content);
    special_ids_.push_back(id);
  }
  if (model.ignore_merges) {
    whole_token_ = StringIdMap(model.tokens.size());
    // 16 slots in flight: cl100k's 100k inserts took 3.4 ms instead of 4.7-5.8 (the same
    // prefetch did nothing for the merge table, whose keys are cheaper to place).
    const uint32_t tokens = static_cast<uint32_t>(model.tokens.size());
    for (uint32_t id = 0; id < tokens; ++id) {
      if (id + 16 < tokens) whole_token_.prefetch(model.tokens[id + 16]);
      if (!model.tokens[id].empty() && !model.is_scaffold(id)) whole_token_.insert(model.tokens[id], id);
    }
  }
}

void Encoder::bpe_short(std::vector<uint32_t>& syms) const {
  thread_local std::vector<uint32_t> ranks;
  ranks.resize(syms.size());
  for (size_t i = 0; i + 1 < syms.size(); ++i) ranks[i] = rank(syms[i], syms[i + 1]);
  ranks.back() = kNone;
  while (syms.size() > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < syms.size(); ++i)
      if (ranks[i] < ranks[best]) best = i;
    if (ranks[best] == kNone) break;
    syms[best] = model_.merges[ranks[best]].result;
    syms.erase(syms.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    ranks[best] = best + 1 < syms.size() ? rank(syms[best], syms[best + 1]) : kNone;
    if (best > 0) ranks[best - 1] = rank(syms[best - 1], syms[best]);
  }
}

void Encoder::bpe_long(std::vector<uint32_t>& syms) const {
  const uint32_t n = static_cast<uint32_t>(syms.size());
  std::vector<uint32_t> next(n), prev(n);
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : kNone;
    prev[i] = i > 0 ? i - 1 : kNone;
  }
  std::vector<uint8_t> alive(n, 1);
  using Item = std::pair<uint32_t, uint32_t>;  // (rank, left position): lowest rank, then leftmost
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> heap;
  auto push = [&](uint32_t i) {
    if (i == kNone || next[i] == kNone) return;
    uint32_t r = rank(syms[i], syms[next[i]]);
    if (r != kNone) heap.push({r, i});
  };
  for (uint32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    auto [r, i] = heap.top();
    heap.pop();
    if (!alive[i] || next[i] == kNone || rank(syms[i], syms[next[i]]) != r) continue;  // stale
    uint32_t j = next[i];
    syms[i] = model_.merges[r].result;
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] != kNone) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  uint32_t out = 0;
  for (uint32_t i = 0; i < n; ++i)
    if (alive[i]) syms[out++] = syms[i];
  syms.resize(out);
}

void Encoder::bpe(std::string_view piece, std::vector<uint32_t>& out) const {
  if (!whole_token_.empty()) {
    const uint32_t id = whole_token_.find(piece);
    if (id != StringIdMap::kMissing) {
      out.push_back(id);
      return;
    }
  }
  thread_local std::vector<uint32_t> syms;
  syms.resize(piece.size());
  for (size_t i = 0; i < piece.size(); ++i) syms[i] = byte_id_[static_cast<unsigned char>(piece[i])];
  if (syms.size() > 1) (syms.size() <= 64 ? bpe_short(syms) : bpe_long(syms));
  out.insert(out.end(), syms.begin(), syms.end());
}

void Encoder::encode_piece(std::string_view piece, std::vector<uint32_t>& out) const {
  if (piece.size() == 1 && whole_token_.empty()) {  // a byte is never scaffold: no BPE, no cache
    out.push_back(byte_id_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  thread_local PieceCache cache;
  if (cache.owner != serial_ || cache.used > (1u << 20) || cache.keys.size() > (256u << 20)) cache.reset(serial_);
  const uint64_t h = hash_bytes(piece.data(), piece.size()), head = PieceCache::head_of(piece);
  if (const PieceCache::Slot* hit = cache.find(piece, h, head)) {
    if (hit->ids_len == 1) {
      out.push_back(hit->ids_at);
      return;
    }
    const uint32_t* ids = cache.ids.data() + hit->ids_at;
    out.insert(out.end(), ids, ids + hit->ids_len);
    return;
  }
  thread_local std::vector<uint32_t> raw;
  raw.clear();
  bpe(piece, raw);
  if (raw.size() == 1 && !(has_scaffold_ && model_.is_scaffold(raw[0]))) {  // one token: kept in the slot
    out.push_back(raw[0]);
    cache.insert(piece, h, head, raw[0], 1);
    return;
  }
  const uint32_t offset = static_cast<uint32_t>(cache.ids.size());
  for (uint32_t id : raw) {
    if (has_scaffold_ && model_.is_scaffold(id)) {
      cache.ids.insert(cache.ids.end(), demolish_ids_.begin() + demolish_begin_[id],
                       demolish_ids_.begin() + demolish_begin_[id + 1]);
    } else {
      cache.ids.push_back(id);
    }
  }
  // Two ids or more: a demolished scaffold token is at least two normal ones.
  out.insert(out.end(), cache.ids.begin() + offset, cache.ids.end());
  cache.insert(piece, h, head, offset, static_cast<uint32_t>(cache.ids.size()) - offset);
}

void Encoder::encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const {
  thread_local std::vector<std::string_view> pieces;
  pieces.clear();
  pretokenizer_.split(text, pieces);
  for (std::string_view p : pieces) encode_piece(p, out);
}

void Encoder::encode(std::string_view text, std::vector<uint32_t>& out) const {
  if (special_contents_.empty()) return encode_ordinary(text, out);
  split_specials(text, special_contents_, [&](std::string_view piece, int special) {
    if (special >= 0) {
      out.push_back(special_ids_[static_cast<size_t>(special)]);
    } else {
      encode_ordinary(piece, out);
    }
  });
}

std::vector<uint32_t> Encoder::encode_parallel(std::string_view text, int threads) const {
  // Chunks of at most about 1 MB even on one thread: the pre-tokens of a chunk are held at once
  // (16 bytes each, ~4 per token), which for a whole 10 MB file was 40 MB of a 130 MB peak.
  // Several chunks per thread balance the load; one thread needs no more than the 1 MB ones.
  const size_t chunks = std::max(threads > 1 ? static_cast<size_t>(threads) * 4 : 1, text.size() >> 20);
  std::vector<size_t> cuts = cuttable_ && chunks > 1 ? safe_cuts(text, chunks, special_contents_) : std::vector<size_t>{};
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(text.size());
  std::vector<std::vector<uint32_t>> parts(cuts.size() - 1);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c; (c = next.fetch_add(1)) < parts.size();) {
      parts[c].reserve((cuts[c + 1] - cuts[c]) / 3 + 1);  // about 4 bytes per token: no regrowth
      encode(text.substr(cuts[c], cuts[c + 1] - cuts[c]), parts[c]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < parts.size(); ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (parts.size() == 1) return std::move(parts[0]);
  std::vector<uint32_t> out;
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  out.reserve(total);
  for (auto& p : parts) {
    out.insert(out.end(), p.begin(), p.end());
    std::vector<uint32_t>().swap(p);  // the ids are held once, not twice, at the peak
  }
  return out;
}

std::string Encoder::decode(const std::vector<uint32_t>& ids) const {
  std::string out;
  for (uint32_t id : ids) {
    if (id >= model_.tokens.size() || model_.tokens[id].empty())
      throw UserError("token id " + std::to_string(id) + " is not in the vocabulary");
    out += model_.tokens[id];
  }
  return out;
}

}  // namespace lmlab::tokenizer
