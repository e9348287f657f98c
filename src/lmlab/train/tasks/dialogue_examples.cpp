// Dialogue pairs and their encoder sequences (rules in dialogue_examples.h).
#include "lmlab/train/tasks/dialogue_examples.h"

#include <algorithm>
#include <random>

#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::train {

std::vector<TokenTurns> positive_dialogues(const std::vector<data::ResponseExample>& examples,
                                           const tokenizer::Tokenizer& tok) {
  std::vector<TokenTurns> out;
  auto ids = [&](const std::string& text) {
    std::vector<uint32_t> t = tok.encode(text);
    return std::vector<int64_t>(t.begin(), t.end());
  };
  for (const auto& e : examples) {
    if (e.label != 1) continue;
    TokenTurns turns;
    for (const auto& u : e.context) turns.push_back(ids(u));
    turns.push_back(ids(e.response));
    out.push_back(std::move(turns));
  }
  return out;
}

std::vector<DialoguePair> prefix_pairs(const std::vector<TokenTurns>& dialogues, int64_t min_context_tokens) {
  std::vector<DialoguePair> out;
  for (size_t d = 0; d < dialogues.size(); ++d) {
    int64_t context_tokens = 0;
    for (size_t i = 1; i < dialogues[d].size(); ++i) {
      context_tokens += static_cast<int64_t>(dialogues[d][i - 1].size());
      if (context_tokens >= min_context_tokens) out.push_back({static_cast<int64_t>(d), 0, static_cast<int64_t>(i)});
    }
  }
  return out;
}

std::vector<DialoguePair> window_pairs(const std::vector<TokenTurns>& dialogues, int64_t num_window,
                                       int64_t max_window, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<DialoguePair> out;
  for (size_t d = 0; d < dialogues.size(); ++d) {
    const int64_t n = static_cast<int64_t>(dialogues[d].size()), di = static_cast<int64_t>(d);
    out.push_back({di, 0, n - 1});
    for (int64_t s = 0; s + 1 < n; ++s) {
      std::vector<int64_t> sizes;
      for (int64_t w = 1; w <= std::min(max_window, n - 1 - s); ++w) sizes.push_back(w);
      for (size_t i = sizes.size(); i > 1; --i) std::swap(sizes[i - 1], sizes[rng() % i]);
      sizes.resize(std::min<size_t>(sizes.size(), static_cast<size_t>(std::max<int64_t>(0, num_window))));
      std::sort(sizes.begin(), sizes.end());
      for (int64_t w : sizes)
        if (!(s == 0 && s + w == n - 1)) out.push_back({di, s, s + w});
    }
  }
  return out;
}

std::vector<int64_t> context_sequence(const TokenTurns& turns, int64_t begin, int64_t end, const EncoderSpecials& sp,
                                      int64_t max_len) {
  std::vector<int64_t> joined;  // u_b [SEP] u_b+1 [SEP] ... u_e-1
  for (int64_t i = begin; i < end; ++i) {
    if (i > begin) joined.push_back(sp.sep());
    joined.insert(joined.end(), turns[i].begin(), turns[i].end());
  }
  const size_t keep = std::min(joined.size(), static_cast<size_t>(std::max<int64_t>(0, max_len - 2)));
  std::vector<int64_t> out = {sp.cls()};
  out.insert(out.end(), joined.end() - static_cast<std::ptrdiff_t>(keep), joined.end());
  out.push_back(sp.sep());
  return out;
}

std::vector<int64_t> response_sequence(const std::vector<int64_t>& ids, const EncoderSpecials& sp, int64_t max_len) {
  const size_t keep = std::min(ids.size(), static_cast<size_t>(std::max<int64_t>(0, max_len - 2)));
  std::vector<int64_t> out = {sp.cls()};
  out.insert(out.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep));
  out.push_back(sp.sep());
  return out;
}

PairSequences pair_sequences(const std::vector<TokenTurns>& dialogues, const std::vector<DialoguePair>& pairs,
                             const EncoderSpecials& sp, int64_t context_len, int64_t response_len) {
  PairSequences out;
  for (const auto& p : pairs) {
    const TokenTurns& t = dialogues[p.dialogue];
    out.contexts.push_back(context_sequence(t, p.begin, p.end, sp, context_len));
    out.responses.push_back(response_sequence(t[p.end], sp, response_len));
  }
  return out;
}

}  // namespace lmlab::train
