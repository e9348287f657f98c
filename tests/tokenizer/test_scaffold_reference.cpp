// Scaffold-BPE's trainer against a from-scratch reference of Algorithm 1 (issue #20.3): full
// recount of every pair after every merge, a linear scan for Q's head, no heap, no incremental
// counts. Both run on many random small corpora and must produce the same event sequence
// (merges, scaffold marks, re-admissions) and the same vocabulary. The rules the reference
// encodes are the trainer's settled open points (trainer.h, docs/tokenizer.md), including a
// popped pair whose string is already a scaffold token: that token is re-admitted, the pair is
// not merged and leaves Q until its count changes (up or down), when it competes again.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <random>

#include "lmlab/common/files.h"
#include "lmlab/tokenizer/corpus.h"
#include "lmlab/tokenizer/pretokenizer.h"
#include "lmlab/tokenizer/trainer.h"

namespace tk = lmlab::tokenizer;

namespace {

using Pair = std::pair<uint32_t, uint32_t>;

class ReferenceScaffoldBpe {
 public:
  ReferenceScaffoldBpe(const std::vector<std::string>& words, const std::vector<uint64_t>& counts, bool scaffold)
      : scaffold_mode_(scaffold) {
    for (int b = 0; b < 256; ++b) add(std::string(1, static_cast<char>(b)), true);
    for (size_t w = 0; w < words.size(); ++w) {
      std::vector<uint32_t> symbols;
      for (unsigned char c : words[w]) {
        symbols.push_back(c);
        freq_[c] += static_cast<int64_t>(counts[w]);
      }
      words_.push_back({symbols, static_cast<int64_t>(counts[w])});
    }
  }

  void run(size_t target) {
    while (normal_ < target) {
      Head h;
      if (!head(h)) return;
      if (h.is_token) {
        readmit(h.a);
        continue;
      }
      const std::string merged = token_[h.a] + token_[h.b];
      auto found = id_of_.find(merged);
      if (found != id_of_.end() && scaffold_[found->second]) {
        readmit(found->second);
        dropped_[{h.a, h.b}] = h.count;  // out of Q until its count differs from this
        ++readmitted_by_pair_;
        continue;
      }
      merge(h.a, h.b, found == id_of_.end() ? add(merged, false) : found->second);
    }
  }

  std::vector<std::string> events;
  int readmitted_by_pair_ = 0;
  std::vector<std::string> token_;
  std::vector<uint8_t> scaffold_;

 private:
  struct Head {
    int64_t count = 0;
    bool is_token = false;
    uint32_t a = 0, b = 0;
  };

  uint32_t add(const std::string& bytes, bool base) {
    token_.push_back(bytes);
    scaffold_.push_back(0);
    base_.push_back(base);
    freq_.push_back(0);
    id_of_[bytes] = static_cast<uint32_t>(token_.size() - 1);
    ++normal_;
    return static_cast<uint32_t>(token_.size() - 1);
  }

  std::map<Pair, int64_t> pair_counts() const {
    std::map<Pair, int64_t> out;
    for (const auto& [s, c] : words_)
      for (size_t i = 0; i + 1 < s.size(); ++i) out[{s[i], s[i + 1]}] += c;
    return out;
  }

  // Q's head: the highest count; at equal count a scaffold token before a pair; then the
  // smaller id (tokens) or (left, right) (pairs).
  bool head(Head& best) const {
    bool any = false;
    auto better = [&](const Head& x) {
      if (!any) return true;
      if (x.count != best.count) return x.count > best.count;
      if (x.is_token != best.is_token) return x.is_token;
      return x.a != best.a ? x.a < best.a : x.b < best.b;
    };
    for (uint32_t t = 0; t < token_.size(); ++t)
      if (scaffold_[t] && freq_[t] > 0 && better({freq_[t], true, t, 0})) best = {freq_[t], true, t, 0}, any = true;
    for (const auto& [p, c] : pair_counts()) {
      auto d = dropped_.find(p);
      if (d != dropped_.end() && d->second == c) continue;
      if (better({c, false, p.first, p.second})) best = {c, false, p.first, p.second}, any = true;
    }
    return any;
  }

  void readmit(uint32_t t) {
    scaffold_[t] = 0;
    ++normal_;
    events.push_back("readmit " + token_[t]);
  }

  void merge(uint32_t a, uint32_t b, uint32_t t) {
    int64_t made = 0;
    for (auto& [s, c] : words_) {
      std::vector<uint32_t> out;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          out.push_back(t);
          made += c;
          i += 2;
        } else {
          out.push_back(s[i++]);
        }
      }
      s = out;
    }
    freq_[t] += made;
    freq_[a] -= made;
    freq_[b] -= made;
    events.push_back("merge " + token_[a] + "+" + token_[b]);
    const std::map<Pair, int64_t> counts = pair_counts();
    for (auto it = dropped_.begin(); it != dropped_.end();) {  // a changed count brings a pair back
      auto c = counts.find(it->first);
      it = (c == counts.end() ? 0 : c->second) != it->second ? dropped_.erase(it) : std::next(it);
    }
    if (!scaffold_mode_) return;
    for (uint32_t child : a == b ? std::vector<uint32_t>{a} : std::vector<uint32_t>{a, b}) {
      if (base_[child] || scaffold_[child]) continue;
      Head h;
      if (head(h) && freq_[child] < h.count) {
        scaffold_[child] = 1;
        --normal_;
        events.push_back("scaffold " + token_[child]);
      }
    }
  }

  const bool scaffold_mode_;
  std::vector<uint8_t> base_;
  std::vector<int64_t> freq_;
  std::map<std::string, uint32_t> id_of_;
  std::vector<std::pair<std::vector<uint32_t>, int64_t>> words_;
  std::map<Pair, int64_t> dropped_;
  size_t normal_ = 0;
};

// Random words over a small alphabet, so pairs repeat and merges build on each other.
void random_corpus(std::mt19937& rng, std::vector<std::string>& words, std::vector<uint64_t>& counts) {
  const int alphabet = 2 + static_cast<int>(rng() % 3), n = 3 + static_cast<int>(rng() % 40);
  std::map<std::string, uint64_t> distinct;
  for (int i = 0; i < n; ++i) {
    std::string w;
    for (int k = static_cast<int>(1 + rng() % 12); k > 0; --k) w += static_cast<char>('a' + rng() % alphabet);
    distinct[w] += 1 + rng() % 6;
  }
  for (const auto& [w, c] : distinct) {
    words.push_back(w);
    counts.push_back(c);
  }
}

}  // namespace

TEST(ScaffoldReference, TheTrainerMakesTheSameStepsAsAFullRecountOnRandomCorpora) {
  std::mt19937 rng(20261203);
  int corpora = 0, scaffolded = 0, readmitted = 0, by_pair = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<std::string> words;
    std::vector<uint64_t> counts;
    random_corpus(rng, words, counts);
    const bool scaffold = trial % 4 != 0;  // a quarter plain BPE: the same core without the marks
    tk::TrainOptions o;
    o.algo = scaffold ? "scaffold" : "bpe";
    o.specials = {};
    o.vocab_size = 256 + 1 + static_cast<uint32_t>(rng() % 80);
    o.record_events = true;
    tk::WordCounts wc;
    for (const auto& w : words) wc.words.push_back(w);
    wc.counts = counts;
    const tk::TrainResult got = tk::train_words(wc, o);

    ReferenceScaffoldBpe ref(words, counts, scaffold);
    ref.run(o.vocab_size);
    ASSERT_EQ(got.events, ref.events) << "trial " << trial;
    // The same expanded vocabulary with the same marks (the model lists V, then S).
    std::vector<std::pair<std::string, uint8_t>> got_tokens, ref_tokens;
    for (size_t id = 0; id < got.model.tokens.size(); ++id) got_tokens.push_back({got.model.tokens[id], got.model.scaffold[id]});
    for (size_t id = 0; id < ref.token_.size(); ++id) ref_tokens.push_back({ref.token_[id], ref.scaffold_[id]});
    std::sort(got_tokens.begin(), got_tokens.end());
    std::sort(ref_tokens.begin(), ref_tokens.end());
    ASSERT_EQ(got_tokens, ref_tokens) << "trial " << trial;
    ++corpora;
    for (const auto& e : ref.events) {
      scaffolded += e.rfind("scaffold ", 0) == 0;
      readmitted += e.rfind("readmit ", 0) == 0;
    }
    by_pair += ref.readmitted_by_pair_;
  }
  // The sweep reaches the marks and re-admissions (by another pair: the real-text test below).
  EXPECT_EQ(corpora, 2000);
  EXPECT_GT(scaffolded, 100);
  EXPECT_GT(readmitted, 10);
  std::cout << corpora << " corpora: " << scaffolded << " scaffold marks, " << readmitted << " re-admissions ("
            << by_pair << " by another pair)\n";
}

// The same on real text (100 KB of TinyStories, 600 merges: longer tokens, skewed counts). A pair
// whose string is already a scaffold token popped in none of these runs, nor in 400 KB with 1500
// merges: the rule is in both implementations but not exercised by the comparison.
TEST(ScaffoldReference, TheSameOnRealText) {
  const std::string path = lmlab::data_root() + "/lm/tinystories/tinystories_valid_first1000.txt";
  if (!lmlab::file_exists(path)) GTEST_SKIP() << path << " is absent";
  const std::vector<std::string> texts = {lmlab::read_file(path).substr(0, 100000)};  // wc's words view into it
  tk::TrainOptions o;
  o.algo = "scaffold";
  o.specials = {};
  o.vocab_size = 256 + 600;
  o.threads = 1;
  o.record_events = true;
  const tk::WordCounts wc = tk::count_words(texts, tk::PreTokenizer(tk::pretokenizer_pattern("gpt2"), false), {}, 1);
  const tk::TrainResult got = tk::train_words(wc, o);
  std::vector<std::string> words(wc.words.begin(), wc.words.end());
  ReferenceScaffoldBpe ref(words, wc.counts, true);
  ref.run(o.vocab_size);
  for (size_t i = 0; i < std::min(got.events.size(), ref.events.size()); ++i)
    ASSERT_EQ(got.events[i], ref.events[i]) << "event " << i << " of " << got.events.size() << " / " << ref.events.size()
                                            << (i > 0 ? ", after " + got.events[i - 1] : "");
  ASSERT_EQ(got.events.size(), ref.events.size());
  std::cout << ref.events.size() << " events, " << ref.readmitted_by_pair_ << " re-admissions by another pair\n";
}
