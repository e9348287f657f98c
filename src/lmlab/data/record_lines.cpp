// Lines and JSON with positions for the record readers (record_lines.h).
#include "lmlab/data/record_lines.h"

#include <algorithm>

namespace lmlab::data {

std::vector<NumberedLine> split_lines(const std::string& text) {
  std::vector<NumberedLine> lines;
  size_t start = 0;
  for (int64_t number = 1; start < text.size(); ++number) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back({number, std::move(line)});
    start = end + 1;
  }
  return lines;
}

namespace {

// nlohmann's message after its "[json.exception...] parse error at line L, column C: " prefix.
std::string syntax_problem(const std::string& what) {
  size_t column = what.find("column ");
  size_t colon = column == std::string::npos ? column : what.find(": ", column);
  return colon == std::string::npos ? "invalid JSON" : "invalid JSON: " + what.substr(colon + 2);
}

}  // namespace

nlohmann::json parse_json(const std::string& text, const SourcePos& start) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points at the character the parser stopped on.
    const size_t stop = std::min(text.size(), e.byte > 0 ? e.byte - 1 : 0);
    const size_t last_newline = stop == 0 ? std::string::npos : text.rfind('\n', stop - 1);
    const auto newlines = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(stop), '\n');
    const auto column = static_cast<int64_t>(last_newline == std::string::npos ? stop : stop - last_newline - 1);
    SourcePos at = start;
    at.line = start.line + newlines;
    at.column = (newlines == 0 ? start.column : 1) + column;
    throw_user_error(at, syntax_problem(e.what()));
  }
}

void for_each_json_line(const std::string& path, const std::string& text,
                        const std::function<void(const nlohmann::json&, const SourcePos&)>& fn) {
  for (const NumberedLine& line : split_lines(text)) {
    if (line.text.find_first_not_of(" \t") == std::string::npos) continue;
    const SourcePos at{path, line.number, 1, -1};
    nlohmann::json record = parse_json(line.text, at);
    if (!record.is_object()) throw_user_error(at, "expected a JSON object, got " + json_type_name(record));
    fn(record, at);
  }
}

std::string json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::number_float: return "a fractional number";
    default: return "an integer";
  }
}

}  // namespace lmlab::data
