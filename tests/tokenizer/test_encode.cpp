// Encoding: identical to a naive O(n^2) reference of Algorithm 2 (lowest-rank merge, leftmost
// first, until none applies; then recursive demolish by the shortest decomposition), exact
// round trips on random bytes (invalid UTF-8, special tokens, long runs), parallel == serial.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/tokenizer/encoder.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/trainer.h"

namespace tk = lmlab::tokenizer;

namespace {

// Reference encoder written from the paper's Algorithm 2, independent of Encoder's data structures.
std::vector<uint32_t> naive_encode(const tk::Model& m, const tk::PreTokenizer& pre, std::string_view text) {
  std::map<std::pair<uint32_t, uint32_t>, size_t> rank;
  for (size_t r = 0; r < m.merges.size(); ++r) rank.emplace(std::make_pair(m.merges[r].left, m.merges[r].right), r);
  std::map<std::string, uint32_t> byte_id;
  for (uint32_t id = 0; id < m.tokens.size(); ++id)
    if (m.tokens[id].size() == 1 && !byte_id.count(m.tokens[id])) byte_id[m.tokens[id]] = id;
  std::function<std::vector<uint32_t>(uint32_t)> demolish = [&](uint32_t id) -> std::vector<uint32_t> {
    if (!m.is_scaffold(id)) return {id};
    std::vector<uint32_t> best;
    for (const auto& mg : m.merges) {
      if (mg.result != id) continue;
      auto cand = demolish(mg.left), right = demolish(mg.right);
      cand.insert(cand.end(), right.begin(), right.end());
      if (best.empty() || cand.size() < best.size() || (cand.size() == best.size() && cand < best)) best = cand;
    }
    return best;
  };
  std::vector<uint32_t> out;
  tk::split_specials(text, [&] {
    std::vector<std::string> s;
    for (const auto& sp : m.specials) s.push_back(sp.first);
    return s;
  }(), [&](std::string_view piece, int special) {
    if (special >= 0) {
      out.push_back(m.specials[static_cast<size_t>(special)].second);
      return;
    }
    std::vector<std::string_view> words;
    pre.split(piece, words);
    for (std::string_view w : words) {
      std::vector<uint32_t> r;
      for (char c : w) r.push_back(byte_id.at(std::string(1, c)));
      while (true) {
        size_t best = SIZE_MAX, at = 0;
        for (size_t i = 0; i + 1 < r.size(); ++i) {
          auto it = rank.find({r[i], r[i + 1]});
          if (it != rank.end() && it->second < best) best = it->second, at = i;
        }
        if (best == SIZE_MAX) break;
        r[at] = m.merges[best].result;
        r.erase(r.begin() + static_cast<std::ptrdiff_t>(at) + 1);
      }
      for (uint32_t id : r)
        for (uint32_t d : demolish(id)) out.push_back(d);
    }
  });
  return out;
}

// `algo` by pointer: a `const std::string&` parameter bound to a temporary makes GCC 14 warn
// that the returned reference may dangle (-Wdangling-reference), though it points into the cache.
const tk::Tokenizer& trained(const char* algo_name) {
  static std::map<std::string, tk::Tokenizer> cache;
  const std::string algo = algo_name;
  auto it = cache.find(algo);
  if (it == cache.end()) {
    tk::TrainOptions o;
    o.algo = algo;
    o.vocab_size = 2000;
    o.split_digits = algo == "scaffold";
    o.pretokenizer = algo == "scaffold" ? "gpt4" : "gpt2";
    std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt"));
    it = cache.emplace(algo, tk::Tokenizer::from_model(tk::train({text}, o).model)).first;
  }
  return it->second;
}

std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> parts = {"the", " of", " and", "ing", " ", "  ", "\n", "<|endoftext|>", "1234",
                                                 "\xC3\xA9t\xC3\xA9", "\xE4\xB8\xAD\xE6\x96\x87", "\xFF", "\xC0", "'s",
                                                 std::string(300, 'e'), std::string(100, ' '), ".,;"};
  std::string s;
  int n = static_cast<int>(rng() % 60);
  for (int i = 0; i < n; ++i) {
    if (rng() % 3 == 0) {
      s += static_cast<char>(rng());
    } else {
      s += parts[rng() % parts.size()];
    }
  }
  return s;
}

}  // namespace

TEST(Encode, EqualsNaiveReference) {
  std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/test.txt")).substr(0, 60000);
  std::mt19937 rng(11);
  for (const char* algo : {"bpe", "scaffold"}) {
    const auto& tok = trained(algo);
    const auto& pre = tok.encoder().pretokenizer();
    EXPECT_EQ(tok.encode(text), naive_encode(tok.model(), pre, text)) << algo;
    for (int i = 0; i < 100; ++i) {
      std::string s = random_text(rng);
      ASSERT_EQ(tok.encode(s), naive_encode(tok.model(), pre, s)) << algo;
    }
  }
}

TEST(Encode, RandomBytesRoundTrip) {
  std::mt19937 rng(5);
  for (const char* algo : {"bpe", "scaffold"}) {
    const auto& tok = trained(algo);
    for (int i = 0; i < 300; ++i) {
      std::string s = i % 2 ? random_text(rng) : std::string(rng() % 500, '\0');
      if (i % 2 == 0)
        for (char& c : s) c = static_cast<char>(rng());
      std::vector<uint32_t> ids = tok.encode(s);
      for (uint32_t id : ids) ASSERT_LT(id, tok.vocab_size()) << "scaffold or unknown id in the output";
      ASSERT_EQ(tok.decode(ids), s);
    }
  }
}

TEST(Encode, SpecialTokenIsOneId) {
  const auto& tok = trained("bpe");
  auto eot = tok.special_id("<|endoftext|>");
  ASSERT_TRUE(eot.has_value());
  EXPECT_EQ(*eot, tok.vocab_size() - 1);
  auto ids = tok.encode("a<|endoftext|>b");
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[1], *eot);
  EXPECT_FALSE(tok.special_id("<|nope|>").has_value());
}

TEST(Encode, ScaffoldTokensAreDemolished) {
  const auto& tok = trained("scaffold");
  const tk::Model& m = tok.model();
  ASSERT_GT(m.scaffold_size(), 0u);
  // Encoding a scaffold token's own text: BPE over E yields it; the output is its demolish sequence.
  size_t checked = 0;
  for (uint32_t id = 0; id < m.tokens.size() && checked < 50; ++id) {
    if (!m.is_scaffold(id)) continue;
    std::vector<uint32_t> raw;
    tok.encoder().bpe(m.tokens[id], raw);
    if (raw != std::vector<uint32_t>{id}) continue;
    std::vector<uint32_t> out;
    tok.encoder().encode_piece(m.tokens[id], out);
    EXPECT_GE(out.size(), 2u);
    EXPECT_EQ(tok.decode(out), m.tokens[id]);
    ++checked;
  }
  EXPECT_GT(checked, 0u);
}

TEST(Encode, ParallelEqualsSerial) {
  std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt"));
  for (const char* algo : {"bpe", "scaffold"}) {
    const auto& tok = trained(algo);
    EXPECT_EQ(tok.encode_parallel(text, 4), tok.encode(text)) << algo;
  }
}

TEST(Encode, DecodeRejectsUnknownId) {
  EXPECT_THROW(trained("bpe").decode({1u << 30}), lmlab::UserError);
}
