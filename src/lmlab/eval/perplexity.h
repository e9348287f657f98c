// Perplexity of a text under a model, as lm-evaluation-harness reports it for WikiText.
// The text is scored whole with rolling windows (lm-eval's get_rolling_token_windows with
// context_len = 1, then make_disjoint_window), for a model reading at most L tokens:
//   window 1:  input [EOT] + t[0 : n1-1], scores t[0 : n1]        (n1 = min(L, N))
//   window k:  scores the next p <= L tokens t[e-p : e] from the input t[e-L-1 : e-1]
// so every token is scored exactly once, the first from the end-of-text token alone, the
// rest with all earlier tokens when N <= L and otherwise with up to L earlier tokens (at
// least L - p + 1). With LL = the summed log-likelihood:
//   token perplexity = exp(-LL / tokens)        word_perplexity = exp(-LL / words)
//   byte_perplexity  = exp(-LL / bytes)         bits_per_byte   = -LL / (bytes * ln 2)
// words = len(re.split(r"\s+", text)) and bytes = UTF-8 bytes, as lm-eval's wikitext task.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/eval/scorer.h"
#include "lmlab/eval/task_result.h"

namespace lmlab::eval {

// The disjoint windows that score every token of `tokens` once (see above).
std::vector<TokenRequest> rolling_windows(const std::vector<uint32_t>& tokens, uint32_t end_of_text, int64_t max_length);

// Sum of log P(t_i | context) over every token, scored through rolling_windows().
double rolling_loglikelihood(const std::vector<uint32_t>& tokens, uint32_t end_of_text, TokenScorer& model);

// Words as lm-eval counts them: pieces of re.split(r"\s+", text).
int64_t count_words(const std::string& text);

// "perplexity" (token level), "word_perplexity", "byte_perplexity", "bits_per_byte",
// plus the counts "tokens", "words", "bytes". n = 1 document.
TaskResult text_perplexity(const std::string& text, const TokenizedScorer::Encoder& encode, uint32_t end_of_text,
                           TokenScorer& model);

}  // namespace lmlab::eval
