// The one error convention of lmlab (see docs/errors.md):
//   UserError     -> bad usage or bad input. The `lmlab` command prints ONE line
//                    "lmlab: error: <file>:<line>:<col>: <problem>" and exits 2.
//   anything else -> internal failure: "lmlab: internal error: ..." and exit 1.
// Throw UserError only for what the user can fix (a path, a config key, a malformed file).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lmlab {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

// Where in an input something is wrong. line/column are 1-based; 0 means "not known".
// For binary files use `byte_offset` instead of line/column.
struct SourcePos {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;
  int64_t byte_offset = -1;
};

// "file:line:col: problem" (or "file: byte N: problem", or "file: problem").
std::string format_error(const SourcePos& where, const std::string& problem);

[[noreturn]] void throw_user_error(const SourcePos& where, const std::string& problem);
[[noreturn]] void throw_user_error(const std::string& file, const std::string& problem);

// The candidate closest to `word` by edit distance, or "" when none is plausibly meant
// (used for "did you mean ..." hints on keys, subcommands and registry names).
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" when closest_match finds nothing.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace lmlab
