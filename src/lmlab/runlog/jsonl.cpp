#include "lmlab/runlog/jsonl.h"

#include <sstream>
#include <vector>

#include "lmlab/common/append_file.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

namespace lmlab::runlog {

void append_jsonl(const std::string& path, const nlohmann::json& record) { append_record(path, record.dump() + "\n"); }

std::string records_up_to(const std::string& path, int64_t step) {
  std::istringstream in(read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string kept;
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      if (i + 1 == lines.size()) break;  // the partial last write of a killed run
      throw_user_error(SourcePos{path, static_cast<int64_t>(i + 1), 0}, "not a JSON object; the file is damaged");
    }
    if (j.value("step", int64_t{0}) <= step) kept += lines[i] + "\n";
  }
  return kept;
}

void truncate_jsonl(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  write_file_atomic(path, records_up_to(path, step));
}

}  // namespace lmlab::runlog
