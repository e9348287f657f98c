// The scoring interfaces every evaluation is written against, so tasks and perplexity can be
// tested with a fake model and run unchanged on the real one.
//   LoglikelihoodScorer: (context, continuation) strings -> log P(continuation | context) summed
//                        over the continuation's tokens, and whether greedy decoding yields it.
//   TokenScorer:         the same on token ids, one log-prob per continuation token.
// TokenizedScorer joins them the way lm-evaluation-harness does (HFLM._encode_pair):
//   trailing whitespace of the context (Python's str.rstrip()) moves to the front of the continuation;
//   whole = encode(context + continuation); ctx = encode(context); cont = whole[len(ctx):];
//   an empty context becomes the single end-of-text token.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lmlab::eval {

struct Request {
  std::string context, continuation;
};

struct Loglikelihood {
  double logprob = 0;   // sum over the continuation's tokens of log P(token | everything before)
  bool greedy = false;  // every continuation token is the argmax of its distribution
};

class LoglikelihoodScorer {
 public:
  virtual ~LoglikelihoodScorer() = default;
  virtual std::vector<Loglikelihood> loglikelihood(const std::vector<Request>& requests) = 0;
};

struct TokenRequest {
  std::vector<uint32_t> context;       // non-empty
  std::vector<uint32_t> continuation;  // non-empty; longer than max_length() is scored in pieces
};

struct TokenScores {
  std::vector<double> logprobs;  // one per continuation token
  bool greedy = false;
};

class TokenScorer {
 public:
  virtual ~TokenScorer() = default;
  // Longest input the model takes. Each request's context + continuation is cut to its last
  // max_length() + 1 tokens and the model reads all but the last (lm-eval's truncation).
  virtual int64_t max_length() const = 0;
  virtual std::vector<TokenScores> score(const std::vector<TokenRequest>& requests) = 0;
};

// Length of `text` (UTF-8) without the trailing whitespace Python's str.rstrip() removes.
size_t python_rstrip_length(const std::string& text);

class TokenizedScorer : public LoglikelihoodScorer {
 public:
  using Encoder = std::function<std::vector<uint32_t>(std::string_view)>;
  TokenizedScorer(Encoder encode, uint32_t end_of_text, TokenScorer& model)
      : encode_(std::move(encode)), end_of_text_(end_of_text), model_(model) {}

  // The token request lm-eval builds for one (context, continuation) pair.
  TokenRequest tokenize(const Request& request) const;
  std::vector<Loglikelihood> loglikelihood(const std::vector<Request>& requests) override;

 private:
  Encoder encode_;
  uint32_t end_of_text_;
  TokenScorer& model_;
};

}  // namespace lmlab::eval
