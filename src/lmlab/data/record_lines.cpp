// Lines and JSON with positions for the record readers (record_lines.h).
#include "lmlab/data/record_lines.h"

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

}  // namespace lmlab::data
