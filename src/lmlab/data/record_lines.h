// Shared by the text record readers: lines with their numbers, and JSON parsed with the
// position of a syntax error, so every reader reports "file:line:col: problem" the same way.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/common/json_text.h"

namespace lmlab::data {

struct NumberedLine {
  int64_t number;  // 1-based
  std::string text;  // without "\n" or "\r\n"
};

// Every line of `text`; a final line without "\n" counts, an empty remainder after the last
// "\n" does not.
std::vector<NumberedLine> split_lines(const std::string& text);

using lmlab::json_type_name;  // common/json_text.h: shared with every JSON reader
using lmlab::parse_json;

// For each non-blank line of a JSONL file: its object (UserError when it is not one) and position.
void for_each_json_line(const std::string& path, const std::string& text,
                        const std::function<void(const nlohmann::json&, const SourcePos&)>& fn);

}  // namespace lmlab::data
