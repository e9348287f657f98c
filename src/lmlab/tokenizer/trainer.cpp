// BPE / Scaffold-BPE trainer (the algorithm and its settled open points are in trainer.h and
// docs/tokenizer.md). Words are id arrays in one flat buffer; pairs live in a PairMap with
// live counts and the list of words that may contain them; Q is a lazy max-heap whose entries
// are checked against the live counts when they reach the top.
#include "lmlab/tokenizer/trainer.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <queue>
#include <set>
#include <unordered_map>

#include "lmlab/common/error.h"
#include "lmlab/common/progress.h"
#include "lmlab/tokenizer/byte_unicode.h"
#include "lmlab/tokenizer/pair_map.h"

namespace lmlab::tokenizer {
namespace {

struct Entry {
  int64_t count;
  uint8_t is_token;  // 1: a scaffold token waiting for re-admission; 0: a pair
  uint32_t a, b;     // the pair (a, b), or the token a
  uint32_t pair;     // pair index (pairs only)
  uint32_t version;  // pairs: valid only while it is the pair's latest push (no duplicates)
};

using ByteRanks = std::array<uint32_t, 256>;

// The place of each byte in the tie-break order: its value ("lmlab"), or the rank of the code point
// of its byte-level character ("hf": HF's compute_alphabet sorts the alphabet by code point).
ByteRanks byte_tie_ranks(const std::string& tie_break) {
  ByteRanks rank;
  std::iota(rank.begin(), rank.end(), 0u);
  if (tie_break != "hf") return rank;
  auto code_point = [](uint32_t byte) {  // bytes_to_unicode gives U+0021..U+0143: 1 or 2 UTF-8 bytes
    std::string u = bytes_to_unicode(std::string(1, static_cast<char>(byte)));
    const auto* s = reinterpret_cast<const unsigned char*>(u.data());
    return u.size() == 1 ? uint32_t{s[0]} : ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
  };
  std::array<uint32_t, 256> by_code_point;
  std::iota(by_code_point.begin(), by_code_point.end(), 0u);
  std::sort(by_code_point.begin(), by_code_point.end(),
            [&](uint32_t x, uint32_t y) { return code_point(x) < code_point(y); });
  for (uint32_t r = 0; r < 256; ++r) rank[by_code_point[r]] = r;
  return rank;
}

// Priority order of Q (std::priority_queue pops the largest). Merged tokens (ids >= 256) follow
// the bytes in E-order under either byte order, as HF numbers them after its alphabet.
struct Lower {
  const ByteRanks* byte_rank;
  uint32_t key(uint32_t id) const { return id < 256 ? (*byte_rank)[id] : id; }
  bool operator()(const Entry& x, const Entry& y) const {
    if (x.count != y.count) return x.count < y.count;
    if (x.is_token != y.is_token) return x.is_token < y.is_token;
    if (x.a != y.a) return key(x.a) > key(y.a);
    return key(x.b) > key(y.b);
  }
};

class Trainer {
 public:
  Trainer(const WordCounts& words, const TrainOptions& opt)
      : opt_(opt), scaffold_mode_(opt.algo == "scaffold"), byte_rank_(byte_tie_ranks(opt.tie_break)) {
    for (uint32_t b = 0; b < 256; ++b) add_token(std::string(1, static_cast<char>(b)), true);
    for (size_t w = 0; w < words.words.size(); ++w) {
      start_.push_back(static_cast<uint32_t>(sym_.size()));
      len_.push_back(static_cast<uint32_t>(words.words[w].size()));
      count_.push_back(words.counts[w]);
      for (unsigned char c : words.words[w]) {
        sym_.push_back(c);
        freq_[c] += static_cast<int64_t>(words.counts[w]);
      }
    }
    word_stamp_.assign(len_.size(), 0);
    for (uint32_t w = 0; w < len_.size(); ++w) {
      const uint32_t* s = &sym_[start_[w]];
      for (uint32_t i = 0; i + 1 < len_[w]; ++i) {
        uint32_t p = pair_of(s[i], s[i + 1]);
        pair_count_[p] += static_cast<int64_t>(count_[w]);
        if (pair_words_[p].empty() || pair_words_[p].back() != w) pair_words_[p].push_back(w);
      }
    }
    for (uint32_t p = 0; p < pair_count_.size(); ++p) push_pair(p);
  }

  TrainResult run() {
    TrainResult result;
    const uint32_t target = opt_.vocab_size - static_cast<uint32_t>(opt_.specials.size());
    Progress progress(opt_.algo + " merges", target - 256, "tok");
    while (normal_ < target) {
      Entry e;
      if (!head(e)) {
        result.exhausted = true;
        break;
      }
      queue_.pop();
      if (e.is_token) {  // Algorithm 1, lines 7-10: a scaffold token ranked first again
        readmit(e.a, result);
      } else {
        std::string merged = token_[e.a] + token_[e.b];
        auto found = id_of_.find(merged);
        if (found != id_of_.end() && scaffold_[found->second]) {
          readmit(found->second, result);  // same string built by another pair: lines 7-10 literally
          drop(e.pair);
        } else {
          merge(e, found == id_of_.end() ? add_token(merged, false) : found->second, result);
        }
      }
      progress.update(normal_ - 256);
    }
    progress.finish(std::to_string(normal_) + " normal, " + std::to_string(scaffold_count()) + " scaffold");
    result.model = to_model();
    return result;
  }

 private:
  uint32_t add_token(const std::string& bytes, bool base) {
    uint32_t id = static_cast<uint32_t>(token_.size());
    token_.push_back(bytes);
    freq_.push_back(0);
    scaffold_.push_back(0);
    base_.push_back(base);
    id_of_.emplace(bytes, id);
    ++normal_;
    return id;
  }

  uint32_t pair_of(uint32_t a, uint32_t b) {
    uint32_t p = pairs_.find_or_insert(pack_pair(a, b), static_cast<uint32_t>(pair_count_.size()));
    if (p == pair_count_.size()) {
      pair_left_.push_back(a);
      pair_right_.push_back(b);
      pair_count_.push_back(0);
      pair_words_.emplace_back();
      pair_stamp_.push_back(0);
      pair_version_.push_back(0);
      dropped_.push_back(0);
    }
    return p;
  }

  // The pair's one live entry, with its current count (an earlier entry becomes stale).
  void push_pair(uint32_t p) {
    dropped_[p] = 0;
    ++pair_version_[p];
    if (pair_count_[p] > 0) queue_.push({pair_count_[p], 0, pair_left_[p], pair_right_[p], p, pair_version_[p]});
  }

  bool valid(const Entry& e) const {
    if (e.count <= 0) return false;
    if (e.is_token) return scaffold_[e.a] && freq_[e.a] == e.count;
    return pair_version_[e.pair] == e.version && pair_count_[e.pair] == e.count;
  }

  // The first valid entry of Q (stale ones are dropped; a pair whose count fell is re-pushed).
  bool head(Entry& e) {
    while (!queue_.empty()) {
      e = queue_.top();
      if (valid(e)) return true;
      queue_.pop();
      if (!e.is_token && pair_version_[e.pair] == e.version && pair_count_[e.pair] > 0) push_pair(e.pair);
    }
    return false;
  }

  // Algorithm 1 lines 7-10 for a popped pair whose string is a scaffold token: the pair leaves
  // Q until its count changes (up or down), when merge() pushes it again.
  void drop(uint32_t p) {
    ++pair_version_[p];
    dropped_[p] = 1;
  }

  void readmit(uint32_t t, TrainResult& result) {
    scaffold_[t] = 0;
    ++normal_;
    if (opt_.record_events) result.events.push_back("readmit " + token_[t]);
  }

  bool involves(uint32_t x, uint32_t a, uint32_t b, uint32_t t) const { return x == a || x == b || x == t; }

  // Replaces every (a, b) by t in the words that contain it and updates pair counts exactly.
  void merge(const Entry& e, uint32_t t, TrainResult& result) {
    const uint32_t a = e.a, b = e.b;
    ++stamp_;
    std::vector<uint32_t> words = std::move(pair_words_[e.pair]);
    pair_words_[e.pair] = {};
    std::vector<uint32_t> touched;
    std::vector<std::pair<uint32_t, int64_t>> dropped_before;  // dropped pairs met, with their count before
    int64_t made = 0;
    for (uint32_t w : words) {
      if (word_stamp_[w] == stamp_) continue;
      word_stamp_[w] = stamp_;
      uint32_t* s = &sym_[start_[w]];
      const uint32_t n = len_[w];
      const int64_t c = static_cast<int64_t>(count_[w]);
      bool present = false;
      for (uint32_t i = 0; i + 1 < n && !present; ++i) present = s[i] == a && s[i + 1] == b;
      if (!present) continue;
      // Pairs not involving a, b or t are the same before and after: only these change.
      for (uint32_t i = 0; i + 1 < n; ++i)
        if (involves(s[i], a, b, t) || involves(s[i + 1], a, b, t)) {
          const uint32_t p = pairs_.find(pack_pair(s[i], s[i + 1]));
          if (dropped_[p] && pair_stamp_[p] != stamp_) {
            pair_stamp_[p] = stamp_;
            dropped_before.push_back({p, pair_count_[p]});
          }
          pair_count_[p] -= c;
        }
      uint32_t j = 0;
      for (uint32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
          s[j++] = t;
          i += 2;
          made += c;
        } else {
          s[j++] = s[i++];
        }
      }
      len_[w] = j;
      for (uint32_t i = 0; i + 1 < j; ++i) {
        if (!involves(s[i], a, b, t) && !involves(s[i + 1], a, b, t)) continue;
        uint32_t p = pair_of(s[i], s[i + 1]);
        pair_count_[p] += c;
        if (s[i] != t && s[i + 1] != t) continue;
        if (pair_words_[p].empty() || pair_words_[p].back() != w) pair_words_[p].push_back(w);
        if (pair_stamp_[p] != stamp_) {
          pair_stamp_[p] = stamp_;
          touched.push_back(p);
        }
      }
    }
    // A dropped pair comes back when its count changed; one first seen above only grew.
    for (const auto& [p, before] : dropped_before)
      if (pair_count_[p] != before) push_pair(p);
    for (uint32_t p : touched) push_pair(p);  // pairs with t (dropped_before's are not among them)
    merges_.push_back({a, b, t});
    freq_[t] += made;
    freq_[a] -= made;
    freq_[b] -= made;  // a == b: subtracted twice, as each merge consumes two a's
    if (opt_.record_events) result.events.push_back("merge " + token_[a] + "+" + token_[b]);
    if (!scaffold_mode_) return;
    const uint32_t children[2] = {a, b};
    for (int k = 0; k < (a == b ? 1 : 2); ++k) {  // the set {a, b}: tested once when a == b
      const uint32_t child = children[k];
      if (base_[child]) continue;
      if (scaffold_[child]) {  // its count changed: a fresh entry (the old one is now stale)
        push_token(child);
        continue;
      }
      Entry h;
      if (head(h) && freq_[child] < h.count) {
        scaffold_[child] = 1;
        --normal_;
        push_token(child);
        if (opt_.record_events) result.events.push_back("scaffold " + token_[child]);
      }
    }
  }

  void push_token(uint32_t t) {
    if (freq_[t] > 0) queue_.push({freq_[t], 1, t, 0, 0, 0});
  }

  size_t scaffold_count() const {
    size_t n = 0;
    for (uint8_t s : scaffold_) n += s;
    return n;
  }

  // E-ids -> file ids: V in E-order, then the specials, then S in E-order.
  Model to_model() const {
    Model m;
    m.algo = opt_.algo;
    m.pattern = pretokenizer_pattern(opt_.pretokenizer);
    m.split_digits = opt_.split_digits;
    std::vector<uint32_t> file_id(token_.size());
    uint32_t next = 0;
    for (uint32_t t = 0; t < token_.size(); ++t)
      if (!scaffold_[t]) file_id[t] = next++;
    for (const std::string& sp : opt_.specials) m.specials.push_back({sp, next++});
    for (uint32_t t = 0; t < token_.size(); ++t)
      if (scaffold_[t]) file_id[t] = next++;
    m.tokens.assign(next, "");
    m.scaffold.assign(next, 0);
    m.scaffold_count.assign(next, 0);
    for (uint32_t t = 0; t < token_.size(); ++t) {
      m.tokens[file_id[t]] = token_[t];
      m.scaffold[file_id[t]] = scaffold_[t];
      if (scaffold_[t]) m.scaffold_count[file_id[t]] = static_cast<uint64_t>(freq_[t]);
    }
    for (const auto& [sp, id] : m.specials) m.tokens[id] = sp;
    for (const Merge& mg : merges_) m.merges.push_back({file_id[mg.left], file_id[mg.right], file_id[mg.result]});
    return m;
  }

  const TrainOptions& opt_;
  const bool scaffold_mode_;
  const ByteRanks byte_rank_;  // the bytes' tie-break order (Lower)
  // Tokens of E by E-id.
  std::vector<std::string> token_;
  std::vector<int64_t> freq_;  // standalone count f(t) in the current segmentation
  std::vector<uint8_t> scaffold_, base_;
  std::unordered_map<std::string, uint32_t> id_of_;
  uint32_t normal_ = 0;  // |V|
  // Words: symbols of word w are sym_[start_[w] .. start_[w] + len_[w]).
  std::vector<uint32_t> sym_, start_, len_, word_stamp_;
  std::vector<uint64_t> count_;
  // Pairs by index.
  PairMap pairs_{1 << 16};
  std::vector<uint32_t> pair_left_, pair_right_, pair_stamp_, pair_version_;
  std::vector<uint8_t> dropped_;  // out of Q after a re-admission, until the count changes
  std::vector<int64_t> pair_count_;
  std::vector<std::vector<uint32_t>> pair_words_;
  std::priority_queue<Entry, std::vector<Entry>, Lower> queue_{Lower{&byte_rank_}};
  std::vector<Merge> merges_;  // in E-ids
  uint32_t stamp_ = 0;
};

}  // namespace

static void check_options(const TrainOptions& options) {
  if (options.algo != "bpe" && options.algo != "scaffold")
    throw UserError("unknown --algo '" + options.algo + "' (choose bpe or scaffold)");
  if (options.tie_break != "lmlab" && options.tie_break != "hf")
    throw UserError("unknown --tie-break '" + options.tie_break + "' (choose lmlab or hf)");
  // The loader refuses these (an empty token, a second token for a byte, one id per content).
  std::set<std::string> seen;
  for (const std::string& sp : options.specials) {
    if (sp.empty()) throw UserError("--special: a special token cannot be empty");
    if (sp.size() == 1) throw UserError("--special '" + sp + "': a single byte is already a byte token");
    if (!seen.insert(sp).second) throw UserError("--special '" + sp + "' is given twice");
  }
  const uint64_t minimum = 256 + options.specials.size();
  if (options.vocab_size < minimum)
    throw UserError("--vocab-size " + std::to_string(options.vocab_size) + " must be at least 256 bytes + " +
                    std::to_string(options.specials.size()) + " special tokens = " + std::to_string(minimum));
}

TrainResult train_words(const WordCounts& words, const TrainOptions& options) {
  check_options(options);
  if (words.words.empty()) throw UserError("the training corpus is empty (no text outside special tokens)");
  TrainResult r = Trainer(words, options).run();
  r.corpus_bytes = words.total_bytes;
  r.distinct_words = words.words.size();
  return r;
}

TrainResult train(const std::vector<std::string>& texts, const TrainOptions& options) {
  check_options(options);
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  if (bytes == 0) throw UserError("the training corpus is empty");
  PreTokenizer pretokenizer(pretokenizer_pattern(options.pretokenizer), options.split_digits);
  WordCounts words = count_words(texts, pretokenizer, options.specials, options.threads);
  return train_words(words, options);
}

}  // namespace lmlab::tokenizer
