// A file that only grows by whole records (metrics.jsonl, position_loss.jsonl, TensorBoard
// events): each append() is written completely or not at all. A failed write (ENOSPC on a full
// disk, EFBIG past a size limit, EIO) cuts the file back to its size before the record, so a
// reader never meets half a line, and is a UserError naming the file and errno: the run stops
// with exit 2 instead of going on without its logs.
#pragma once
#include <string>
#include <string_view>

namespace lmlab {

class AppendFile {
 public:
  // truncate: start empty (a new run); otherwise keep what is there. UserError when it cannot be opened.
  AppendFile(std::string path, bool truncate);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(std::string_view record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Appends one record to `path` (created if missing) through an AppendFile.
void append_record(const std::string& path, std::string_view record);

}  // namespace lmlab
