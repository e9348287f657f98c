#include "lmlab/common/error.h"

#include <algorithm>

namespace lmlab {

std::string format_error(const SourcePos& where, const std::string& problem) {
  std::string out = where.file.empty() ? std::string("<input>") : where.file;
  if (where.line > 0) {
    out += ":" + std::to_string(where.line);
    if (where.column > 0) out += ":" + std::to_string(where.column);
  } else if (where.byte_offset >= 0) {
    out += ": byte " + std::to_string(where.byte_offset);
  }
  return out + ": " + problem;
}

void throw_user_error(const SourcePos& where, const std::string& problem) {
  throw UserError(format_error(where, problem));
}

void throw_user_error(const std::string& file, const std::string& problem) {
  throw UserError(format_error(SourcePos{file}, problem));
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    // A key written under the wrong section ("train.n_layer" for "model.n_layer") shares its
    // last component: count that as close.
    auto last = [](const std::string& s) { return s.substr(s.rfind('.') + 1); };
    if (last(word) == last(c) && word.find('.') != std::string::npos) d = std::min<size_t>(d, 1);
    if (d < best_distance) best_distance = d, best = c;
  }
  // Beyond ~40% of the word changed, a suggestion is noise rather than help.
  if (best_distance > std::max<size_t>(2, word.size() * 2 / 5)) return "";
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string m = closest_match(word, candidates);
  return m.empty() ? "" : " (did you mean '" + m + "'?)";
}

}  // namespace lmlab
