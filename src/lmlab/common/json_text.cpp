// JSON parsing and field checks with positions (json_text.h).
#include "lmlab/common/json_text.h"

#include <algorithm>

namespace lmlab {

SourcePos position_in(const std::string& text, size_t offset, const SourcePos& start) {
  const size_t stop = std::min(text.size(), offset);
  SourcePos at = start;
  if (start.line == 0) {  // a file without lines (a binary header): a byte offset
    at.byte_offset = std::max<int64_t>(start.byte_offset, 0) + static_cast<int64_t>(stop);
    return at;
  }
  const size_t last_newline = stop == 0 ? std::string::npos : text.rfind('\n', stop - 1);
  const auto newlines = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(stop), '\n');
  const auto column = static_cast<int64_t>(last_newline == std::string::npos ? stop : stop - last_newline - 1);
  at.line = start.line + newlines;
  at.column = (newlines == 0 ? start.column : 1) + column;
  return at;
}

std::string json_problem(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

void throw_json_error(const std::string& text, const nlohmann::json::exception& e, const SourcePos& start) {
  if (const auto* syntax = dynamic_cast<const nlohmann::json::parse_error*>(&e)) {
    // byte is 1-based and points at the character the parser stopped on; the message repeats
    // nlohmann's own "line L, column C" prefix, which counts from the text, not the file.
    std::string problem = json_problem(e);
    const size_t column = problem.find("column ");
    const size_t colon = column == std::string::npos ? column : problem.find(": ", column);
    if (colon != std::string::npos) problem = problem.substr(colon + 2);
    throw_user_error(position_in(text, syntax->byte > 0 ? syntax->byte - 1 : 0, start), "invalid JSON: " + problem);
  }
  // A number that overflows a double ("number overflow parsing '1e400'"): point at its token.
  std::string problem = json_problem(e);
  size_t at = std::string::npos;
  const size_t quote = problem.find('\'');
  if (quote != std::string::npos && problem.back() == '\'')
    at = text.find(problem.substr(quote + 1, problem.size() - quote - 2));
  throw_user_error(at == std::string::npos ? start : position_in(text, at, start), "invalid JSON: " + problem);
}

int64_t json_int(const nlohmann::json& obj, const std::string& key, int64_t lo, int64_t hi, const std::string& file) {
  auto it = obj.find(key);
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (it == obj.end()) throw_user_error(file, key + ": missing (an integer in " + range + ")");
  bool ok = it->is_number_integer();
  if (ok && it->is_number_unsigned()) ok = it->get<uint64_t>() <= static_cast<uint64_t>(hi);
  if (ok) ok = it->get<int64_t>() >= lo && it->get<int64_t>() <= hi;
  if (!ok)
    throw_user_error(file, key + ": expected an integer in " + range + ", got " +
                               (it->is_number() ? it->dump() : json_type_name(*it)));
  return it->get<int64_t>();
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

}  // namespace lmlab
