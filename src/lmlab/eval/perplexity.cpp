// Rolling-window perplexity (formulas and window layout in perplexity.h).
#include "lmlab/eval/perplexity.h"

#include <cmath>

#include "lmlab/common/error.h"

namespace lmlab::eval {

std::vector<TokenRequest> rolling_windows(const std::vector<uint32_t>& tokens, uint32_t end_of_text, int64_t max_length) {
  const int64_t n = static_cast<int64_t>(tokens.size()), L = max_length;
  if (L < 1) throw std::invalid_argument("rolling_windows: max_length must be positive");
  std::vector<TokenRequest> windows;
  if (n == 0) return windows;
  auto slice = [&](int64_t a, int64_t b) {
    return std::vector<uint32_t>(tokens.begin() + a, tokens.begin() + b);
  };
  // Window 1: the model reads [EOT] + t[0 : n1-1] and predicts t[0 : n1].
  const int64_t n1 = std::min(L, n);
  windows.push_back(TokenRequest{{end_of_text}, slice(0, n1)});
  // Later windows read L tokens ending just before their last target; the disjoint context is
  // what precedes the first target.
  for (int64_t predicted = n1; predicted < n;) {
    const int64_t p = std::min(n - predicted, L), end = predicted + p;
    windows.push_back(TokenRequest{slice(end - L - 1, end - p), slice(end - p, end)});
    predicted += p;
  }
  return windows;
}

double rolling_loglikelihood(const std::vector<uint32_t>& tokens, uint32_t end_of_text, TokenScorer& model) {
  double total = 0;
  for (const TokenScores& s : model.score(rolling_windows(tokens, end_of_text, model.max_length())))
    for (double lp : s.logprobs) total += lp;
  return total;
}

int64_t count_words(const std::string& text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  int64_t pieces = 1;
  for (size_t i = 0; i < text.size(); ++i)
    if (is_space(text[i]) && (i == 0 || !is_space(text[i - 1]))) ++pieces;
  return pieces;
}

TaskResult text_perplexity(const std::string& text, const TokenizedScorer::Encoder& encode, uint32_t end_of_text,
                           TokenScorer& model) {
  std::vector<uint32_t> tokens = encode(text);
  if (tokens.empty()) throw UserError("perplexity: the text is empty");
  const double ll = rolling_loglikelihood(tokens, end_of_text, model);
  const double n_tokens = static_cast<double>(tokens.size()), words = static_cast<double>(count_words(text)),
               bytes = static_cast<double>(text.size());
  TaskResult r{"ppl", 1, {}, ""};
  r.metrics["perplexity"] = std::exp(-ll / n_tokens);
  r.metrics["word_perplexity"] = std::exp(-ll / words);
  r.metrics["byte_perplexity"] = std::exp(-ll / bytes);
  r.metrics["bits_per_byte"] = -ll / bytes / std::log(2.0);
  r.metrics["tokens"] = n_tokens;
  r.metrics["words"] = words;
  r.metrics["bytes"] = bytes;
  return r;
}

}  // namespace lmlab::eval
