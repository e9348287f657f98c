// JSON from files a user hands us (issue #23 class 5). Every failure is one UserError that names
// the file and where in it: a syntax error or a number nlohmann cannot hold (1e400) at its line
// and column; an unchecked access that meets the wrong type or a missing key names the file and
// nlohmann's pointer-free problem. Readers check their fields themselves to name the field.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "lmlab/common/error.h"

namespace lmlab {

// Where byte `offset` (0-based) of `text` is, when `text` begins at `start` in its file
// (line 1 column 1 for a whole file; line 0 means "report a byte offset instead").
SourcePos position_in(const std::string& text, size_t offset, const SourcePos& start);

// The UserError for an nlohmann error raised while parsing `text` (which began at `start`).
[[noreturn]] void throw_json_error(const std::string& text, const nlohmann::json::exception& e, const SourcePos& start);

// `text` parsed as JSON (or ordered_json), with the position of any failure.
template <class Json = nlohmann::json>
Json parse_json(const std::string& text, const SourcePos& start) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw_json_error(text, e, start);
  }
}

// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string json_problem(const nlohmann::json::exception& e);

// Runs `read` over the values of a parsed `file`: an nlohmann error from an access it did not
// check (a wrong type, a missing key, a number too large for its type) becomes one UserError
// naming the file, not an internal error naming nothing.
template <class Read>
auto reading_json(const std::string& file, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    throw_user_error(file, "unexpected value: " + json_problem(e));
  }
}

// obj[key] as an integer in [lo, hi]; else "file: key: expected an integer in [lo, hi], got ...".
int64_t json_int(const nlohmann::json& obj, const std::string& key, int64_t lo, int64_t hi, const std::string& file);

// "a string", "an integer", ... for "expected a string, got an integer" messages.
std::string json_type_name(const nlohmann::json& value);

}  // namespace lmlab
