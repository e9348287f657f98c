#include "lmlab/runlog/jsonl.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "lmlab/common/files.h"

namespace lmlab::runlog {

void append_jsonl(const std::string& path, const nlohmann::json& record) {
  std::ofstream out(path, std::ios::app);
  out << record.dump() << "\n";
  out.flush();
  if (!out) throw std::runtime_error("cannot append to " + path);
}

void truncate_jsonl(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

}  // namespace lmlab::runlog
