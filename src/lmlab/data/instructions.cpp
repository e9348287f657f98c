// Alpaca / LLaMA-Factory instruction records (format in instructions.h).
#include "lmlab/data/instructions.h"

#include <functional>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/record_lines.h"

namespace lmlab::data {

namespace {

using Fail = std::function<void(const std::string& problem)>;

std::string string_key(const nlohmann::json& record, const char* key, bool required, const Fail& fail) {
  auto it = record.find(key);
  if (it == record.end()) {
    if (required) fail(std::string("missing key '") + key + "'");
    return "";
  }
  if (!it->is_string()) fail(std::string("'") + key + "' must be a string, got " + json_type_name(*it));
  return it->get<std::string>();
}

std::vector<std::pair<std::string, std::string>> history_of(const nlohmann::json& record, const Fail& fail) {
  std::vector<std::pair<std::string, std::string>> turns;
  auto it = record.find("history");
  if (it == record.end() || it->is_null()) return turns;
  if (!it->is_array()) fail("'history' must be an array of [user, assistant] pairs, got " + json_type_name(*it));
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& pair = (*it)[i];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
      fail("history[" + std::to_string(i) + "] must be a [user, assistant] pair of strings, got " + pair.dump());
    turns.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return turns;
}

Instruction instruction_of(const nlohmann::json& record, const Fail& fail) {
  if (!record.is_object()) fail("expected a JSON object, got " + json_type_name(record));
  Instruction r;
  r.instruction = string_key(record, "instruction", true, fail);
  r.input = string_key(record, "input", false, fail);
  r.output = string_key(record, "output", true, fail);
  r.history = history_of(record, fail);
  return r;
}

std::vector<Instruction> read_array(const std::string& path, const std::string& text) {
  const nlohmann::json records = parse_json(text, SourcePos{path, 1, 1, -1});
  if (!records.is_array()) throw_user_error(path, "expected a JSON array of records");
  std::vector<Instruction> out;
  for (size_t i = 0; i < records.size(); ++i) {
    // nlohmann keeps no positions of values, so an element is named by its number.
    const std::string where = "record " + std::to_string(i + 1);
    out.push_back(instruction_of(records[i], [&](const std::string& p) { throw_user_error(path, where + ": " + p); }));
  }
  return out;
}

std::vector<Instruction> read_jsonl(const std::string& path, const std::string& text) {
  std::vector<Instruction> out;
  for_each_json_line(path, text, [&](const nlohmann::json& record, const SourcePos& at) {
    out.push_back(instruction_of(record, [&](const std::string& p) { throw_user_error(at, p); }));
  });
  return out;
}

}  // namespace

std::vector<Instruction> read_instructions(const std::string& path) {
  const std::string text = read_file(path);
  const size_t first = text.find_first_not_of(" \t\r\n");
  std::vector<Instruction> out =
      first != std::string::npos && text[first] == '[' ? read_array(path, text) : read_jsonl(path, text);
  if (out.empty()) throw_user_error(path, "no records");
  return out;
}

}  // namespace lmlab::data
