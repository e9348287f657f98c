// TokenizedScorer: strings -> token requests exactly as lm-evaluation-harness's HFLM does.
#include "lmlab/eval/scorer.h"

#include "lmlab/common/error.h"

namespace lmlab::eval {

size_t python_rstrip_length(const std::string& text) {
  // str.isspace(): ASCII \t-\r and \x1c-\x20, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028,
  // U+2029, U+202F, U+205F, U+3000 (the only whitespace code points besides ASCII).
  size_t end = text.size();
  while (end > 0) {
    const auto c = static_cast<unsigned char>(text[end - 1]);
    if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20)) {
      --end;
      continue;
    }
    size_t start = end - 1;  // the last code point: back up over continuation bytes
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
    uint32_t cp = 0;
    const std::string_view bytes(text.data() + start, end - start);
    if (bytes.size() == 2) cp = ((bytes[0] & 0x1Fu) << 6) | (bytes[1] & 0x3Fu);
    if (bytes.size() == 3) cp = ((bytes[0] & 0x0Fu) << 12) | ((bytes[1] & 0x3Fu) << 6) | (bytes[2] & 0x3Fu);
    const bool space = cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
                       cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    if (!space) break;
    end = start;
  }
  return end;
}

TokenRequest TokenizedScorer::tokenize(const Request& request) const {
  std::string context = request.context, continuation = request.continuation;
  const size_t kept = python_rstrip_length(context);
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
