// BPE encoder: min-rank merging per pre-token (a small rank array for short pieces, a heap over
// a linked list for long ones: O(n log n), so a megabyte of spaces is not quadratic), then the
// O(1) demolish table of Scaffold-BPE, with a per-thread cache of finished pre-tokens.
#include "lmlab/tokenizer/encoder.h"

#include <atomic>
#include <deque>
#include <functional>
#include <queue>
#include <thread>

#include "lmlab/common/error.h"

namespace lmlab::tokenizer {
namespace {

constexpr uint32_t kNone = PairMap::kMissing;

std::atomic<uint64_t> next_serial{1};

// Finished pre-tokens of one encoder on this thread. Keys live in a deque (never relocated).
struct PieceCache {
  uint64_t owner = 0;
  std::deque<std::string> keys;
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> where;  // offset, length in ids
  std::vector<uint32_t> ids;

  void reset(uint64_t serial) {
    owner = serial;
    where.clear();
    keys.clear();
    ids.clear();
  }
};

}  // namespace

Encoder::Encoder(const Model& model)
    : model_(model), pretokenizer_(model.pattern, model.split_digits), merge_rank_(model.merges.size() + 16),
      serial_(next_serial.fetch_add(1)) {
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
  std::vector<std::vector<uint32_t>> table = demolish_table(model);
  for (uint32_t id = 0; id < table.size(); ++id) {
    demolish_begin_.push_back(static_cast<uint32_t>(demolish_ids_.size()));
    demolish_ids_.insert(demolish_ids_.end(), table[id].begin(), table[id].end());
    has_scaffold_ |= model.is_scaffold(id);
  }
  demolish_begin_.push_back(static_cast<uint32_t>(demolish_ids_.size()));
  for (const auto& [content, id] : model.specials) {
    special_contents_.push_back(content);
    special_ids_.push_back(id);
  }
  if (model.ignore_merges)
    for (uint32_t id = 0; id < model.tokens.size(); ++id)
      if (!model.tokens[id].empty() && !model.is_scaffold(id)) whole_token_.emplace(model.tokens[id], id);
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
    auto it = whole_token_.find(piece);
    if (it != whole_token_.end()) {
      out.push_back(it->second);
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
  if (cache.owner != serial_ || cache.where.size() > (1u << 20)) cache.reset(serial_);
  auto hit = cache.where.find(piece);
  if (hit != cache.where.end()) {
    const uint32_t* ids = cache.ids.data() + hit->second.first;
    out.insert(out.end(), ids, ids + hit->second.second);
    return;
  }
  thread_local std::vector<uint32_t> raw;
  raw.clear();
  bpe(piece, raw);
  uint32_t offset = static_cast<uint32_t>(cache.ids.size());
  for (uint32_t id : raw) {
    if (has_scaffold_ && model_.is_scaffold(id)) {
      cache.ids.insert(cache.ids.end(), demolish_ids_.begin() + demolish_begin_[id],
                       demolish_ids_.begin() + demolish_begin_[id + 1]);
    } else {
      cache.ids.push_back(id);
    }
  }
  uint32_t length = static_cast<uint32_t>(cache.ids.size()) - offset;
  cache.keys.emplace_back(piece);
  cache.where.emplace(cache.keys.back(), std::make_pair(offset, length));
  out.insert(out.end(), cache.ids.begin() + offset, cache.ids.end());
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
  // safe_cuts holds for our split patterns only; a custom one from a HF file runs on one thread.
  if (pretokenizer_name(model_.pattern) == "custom") threads = 1;
  std::vector<size_t> cuts = threads > 1 ? safe_cuts(text, static_cast<size_t>(threads) * 4, special_contents_)
                                         : std::vector<size_t>{};
  cuts.insert(cuts.begin(), 0);
  cuts.push_back(text.size());
  std::vector<std::vector<uint32_t>> parts(cuts.size() - 1);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c; (c = next.fetch_add(1)) < parts.size();)
      encode(text.substr(cuts[c], cuts[c + 1] - cuts[c]), parts[c]);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < parts.size(); ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  std::vector<uint32_t> out;
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  out.reserve(total);
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
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
