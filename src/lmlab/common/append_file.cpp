// Whole-record appends (see append_file.h).
#include "lmlab/common/append_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lmlab/common/error.h"

namespace lmlab {

namespace {

std::string errno_text(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

}  // namespace

AppendFile::AppendFile(std::string path, bool truncate) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw_user_error(path_, "cannot open for writing: " + errno_text(errno));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(std::string_view record) {
  size_t done = 0;
  while (done < record.size()) {
    const ssize_t n = ::write(fd_, record.data() + done, record.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int err = n < 0 ? errno : EIO;
    // A short write then a failure leaves `done` bytes of the record at the end: cut them off
    // (the size is read only now, so a write that succeeds costs no extra system call).
    struct stat st {};
    const bool regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && done > 0 && ::ftruncate(fd_, st.st_size - static_cast<off_t>(done)) != 0) {
      throw_user_error(path_, "cannot write: " + errno_text(err) + "; and cannot remove the partial record: " +
                                  errno_text(errno));
    }
    throw_user_error(path_, "cannot write: " + errno_text(err) + "; nothing of this record was kept");
  }
}

void append_record(const std::string& path, std::string_view record) { AppendFile(path, false).append(record); }

}  // namespace lmlab
