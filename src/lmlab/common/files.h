// File helpers: whole-file reads with clear errors, and atomic writes (temp file + rename) so a
// crash or a bad input never leaves a half-written output where the user's file was.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace lmlab {

// Reads a whole file (a ".gz" file is decompressed). UserError if missing or unreadable.
std::string read_file(const std::string& path);

// Writes `content` to `path` atomically.
void write_file_atomic(const std::string& path, const std::string& content);

// A file written through a temporary sibling "<path>.tmp.<pid>"; commit() flushes, fsyncs and
// renames it over `path`. Destroyed without commit() (an exception, an early return), it
// removes the temporary and `path` is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::FILE* handle() { return file_; }
  void write(const void* data, size_t size);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_path_;
  std::FILE* file_ = nullptr;
};

// A directory built under a temporary sibling name and renamed into place on commit(), so a
// reader never sees a half-written checkpoint. An existing directory at `path` is replaced.
class AtomicDir {
 public:
  explicit AtomicDir(std::string path);
  ~AtomicDir();
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  // Where to write the contents before commit().
  const std::string& staging() const { return tmp_path_; }
  void commit();

 private:
  std::string path_, tmp_path_;
  bool committed_ = false;
};

// Removes the entries "<name>.tmp.<pid>" and "<name>.old.<pid>" of `dir` (AtomicFile and
// AtomicDir staging) whose process no longer runs: what a killed run left behind. Returns the
// names removed; a missing `dir` is no error.
std::vector<std::string> remove_stale_staging(const std::string& dir);

bool file_exists(const std::string& path);
// Creates a directory and its parents; UserError naming the path on failure.
void make_dirs(const std::string& path);

// The shared data directory: $LMLAB_DATA, else ../shared/data (from the working directory),
// else the ../shared/data beside the source tree this binary was built from.
std::string data_root();
// data_root() + "/" + relative, with a UserError naming both if it does not exist.
std::string data_path(const std::string& relative);

}  // namespace lmlab
