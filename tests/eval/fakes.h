// Fake models for the eval tests: deterministic scores that are easy to compute by hand.
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "lmlab/eval/scorer.h"

namespace lmlab::eval::test {

// Log-probs of a made-up causal LM over a vocabulary of `kVocab` ids, depending on the whole
// history (every token it sees, in order): log_softmax of logits_k = sin(k * (1 + h)).
constexpr int kVocab = 7;
inline std::vector<double> fake_logprobs(const std::vector<uint32_t>& history) {
  double h = 0;
  for (size_t i = 0; i < history.size(); ++i) h = std::fmod(h * 1.37 + history[i] + 0.11 * (i + 1), 97.0);
  std::vector<double> logits(kVocab);
  double m = -1e9, z = 0;
  for (int k = 0; k < kVocab; ++k) m = std::max(m, logits[k] = std::sin(k * (1.0 + h)));
  for (double l : logits) z += std::exp(l - m);
  for (double& l : logits) l = l - m - std::log(z);
  return logits;
}

// A TokenScorer following the interface's truncation rule with fake_logprobs.
class FakeTokenScorer : public TokenScorer {
 public:
  explicit FakeTokenScorer(int64_t max_length) : max_length_(max_length) {}
  int64_t max_length() const override { return max_length_; }
  std::vector<TokenScores> score(const std::vector<TokenRequest>& requests) override {
    std::vector<TokenScores> out;
    for (const TokenRequest& r : requests) {
      ++calls;
      std::vector<uint32_t> whole = r.context;
      whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
      size_t keep = std::min(whole.size(), static_cast<size_t>(max_length_) + 1);
      std::vector<uint32_t> input(whole.end() - keep, whole.end() - 1);
      TokenScores s;
      s.greedy = true;
      for (size_t j = 0; j < r.continuation.size(); ++j) {
        size_t pos = input.size() - r.continuation.size() + j;  // reads input[0..pos]
        std::vector<double> lp = fake_logprobs(std::vector<uint32_t>(input.begin(), input.begin() + pos + 1));
        uint32_t target = r.continuation[j];
        s.logprobs.push_back(lp[target]);
        for (double other : lp) s.greedy = s.greedy && other <= lp[target];
      }
      out.push_back(s);
    }
    return out;
  }
  int64_t calls = 0;

 private:
  int64_t max_length_;
};

// A string-level scorer with a fixed log-likelihood per (context, continuation).
class TableScorer : public LoglikelihoodScorer {
 public:
  std::map<std::pair<std::string, std::string>, Loglikelihood> table;
  std::vector<Loglikelihood> loglikelihood(const std::vector<Request>& requests) override {
    std::vector<Loglikelihood> out;
    for (const Request& r : requests) out.push_back(table.at({r.context, r.continuation}));
    return out;
  }
};

// One id per byte: lets tests predict tokenization exactly.
inline std::vector<uint32_t> byte_encode(std::string_view text) {
  std::vector<uint32_t> ids;
  for (char c : text) ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

}  // namespace lmlab::eval::test
