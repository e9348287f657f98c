// split_specials (declared in model.h): a template so the per-piece callback inlines.
#pragma once
#include <algorithm>

namespace lmlab::tokenizer {

template <class Fn>
void split_specials(std::string_view text, const std::vector<std::string>& specials, Fn&& piece) {
  // next[k]: position of the next occurrence of specials[k] at or after `pos`.
  std::vector<size_t> next(specials.size());
  for (size_t k = 0; k < specials.size(); ++k)
    next[k] = specials[k].empty() ? std::string_view::npos : text.find(specials[k]);
  size_t pos = 0;
  while (true) {
    size_t best_at = std::string_view::npos;
    int best = -1;
    for (size_t k = 0; k < specials.size(); ++k) {
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(specials[k], pos);
      if (next[k] == std::string_view::npos) continue;
      if (next[k] < best_at || (next[k] == best_at && specials[k].size() > specials[best].size())) {
        best_at = next[k];
        best = static_cast<int>(k);
      }
    }
    if (best < 0) break;
    if (best_at > pos) piece(text.substr(pos, best_at - pos), -1);
    piece(text.substr(best_at, specials[best].size()), best);
    pos = best_at + specials[best].size();
  }
  if (pos < text.size()) piece(text.substr(pos), -1);
}

}  // namespace lmlab::tokenizer
