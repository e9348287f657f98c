// TokenizedScorer: strings -> token requests exactly as lm-evaluation-harness's HFLM does.
#include "lmlab/eval/scorer.h"

#include "lmlab/common/error.h"

namespace lmlab::eval {

TokenRequest TokenizedScorer::tokenize(const Request& request) const {
  std::string context = request.context, continuation = request.continuation;
  size_t kept = context.find_last_not_of(' ');
  kept = kept == std::string::npos ? 0 : kept + 1;
  continuation = context.substr(kept) + continuation;
  context.resize(kept);

  TokenRequest out;
  if (context.empty()) {
    out.context = {end_of_text_};
    out.continuation = encode_(continuation);
  } else {
    std::vector<uint32_t> whole = encode_(context + continuation);
    out.context = encode_(context);
    size_t n = std::min(out.context.size(), whole.size());
    out.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(n), whole.end());
  }
  if (out.continuation.empty())
    throw UserError("empty continuation after tokenization (context ending \"" +
                    context.substr(context.size() > 40 ? context.size() - 40 : 0) + "\")");
  return out;
}

std::vector<Loglikelihood> TokenizedScorer::loglikelihood(const std::vector<Request>& requests) {
  std::vector<TokenRequest> tokenized;
  tokenized.reserve(requests.size());
  for (const Request& r : requests) tokenized.push_back(tokenize(r));
  std::vector<TokenScores> scores = model_.score(tokenized);
  std::vector<Loglikelihood> out(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    for (double lp : scores[i].logprobs) out[i].logprob += lp;
    out[i].greedy = scores[i].greedy;
  }
  return out;
}

}  // namespace lmlab::eval
