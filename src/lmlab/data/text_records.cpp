// JSONL text classification and response-selection TSV readers (formats in text_records.h).
#include "lmlab/data/text_records.h"

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/record_lines.h"

namespace lmlab::data {

namespace {

TextExample text_example(const nlohmann::json& record, const SourcePos& at) {
  auto text = record.find("text");
  if (text == record.end()) throw_user_error(at, "missing key 'text'");
  if (!text->is_string()) throw_user_error(at, "'text' must be a string, got " + json_type_name(*text));
  auto label = record.find("label");
  if (label == record.end()) throw_user_error(at, "missing key 'label'");
  // Only integers: a string or fractional label has no one obvious class index.
  if (!label->is_number_integer() || label->get<int64_t>() < 0)
    throw_user_error(at, "'label' must be an integer >= 0, got " + label->dump());
  return {text->get<std::string>(), label->get<int64_t>()};
}

[[noreturn]] void bad_line(const std::string& path, int64_t line, const std::string& problem) {
  throw_user_error(SourcePos{path, line, 0, -1}, problem);
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
    fields.push_back(line.substr(start, tab - start));
  fields.push_back(line.substr(start));
  return fields;
}

}  // namespace

std::vector<TextExample> read_text_jsonl(const std::string& path) {
  std::vector<TextExample> out;
  for_each_json_line(path, read_file(path), [&](const nlohmann::json& record, const SourcePos& at) {
    out.push_back(text_example(record, at));
  });
  if (out.empty()) throw_user_error(path, "no records");
  return out;
}

std::vector<ResponseExample> read_response_tsv(const std::string& path) {
  std::vector<ResponseExample> out;
  for (NumberedLine& line : split_lines(read_file(path))) {
    std::vector<std::string> fields = split_tabs(line.text);
    if (fields.size() < 3)
      bad_line(path, line.number,
               "expected label, at least one utterance and a response (3 or more tab-separated fields), got " +
                   std::to_string(fields.size()));
    if (fields[0] != "0" && fields[0] != "1")
      bad_line(path, line.number, "label must be 0 or 1, got '" + fields[0] + "'");
    ResponseExample e;
    e.label = fields[0] == "1";
    e.response = std::move(fields.back());
    e.context.assign(std::make_move_iterator(fields.begin() + 1), std::make_move_iterator(fields.end() - 1));
    out.push_back(std::move(e));
  }
  if (out.empty()) throw_user_error(path, "no records");
  return out;
}

}  // namespace lmlab::data
