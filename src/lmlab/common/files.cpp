#include "lmlab/common/files.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "lmlab/common/error.h"

namespace fs = std::filesystem;

namespace lmlab {

static bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_file(const std::string& path) {
  if (!file_exists(path)) throw_user_error(path, "no such file");
  std::string out;
  if (ends_with(path, ".gz")) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz) throw_user_error(path, std::string("cannot open: ") + std::strerror(errno));
    gzbuffer(gz, 1 << 20);
    char buf[1 << 16];
    int n;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    int err = 0;
    const char* msg = gzerror(gz, &err);
    std::string problem = (n < 0 || err != Z_OK) ? std::string("corrupt gzip data: ") + msg : "";
    gzclose(gz);
    if (!problem.empty()) throw_user_error(path, problem);
    return out;
  }
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_user_error(path, std::string("cannot open: ") + std::strerror(errno));
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw_user_error(path, "read error");
  return out;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) throw_user_error(path_, std::string("cannot write: ") + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw_user_error(path_, std::string("write failed: ") + std::strerror(errno));
}

void AtomicFile::commit() {
  bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok || std::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    std::string why = std::strerror(errno);
    std::remove(tmp_path_.c_str());
    throw_user_error(path_, "cannot write: " + why);
  }
}

AtomicDir::AtomicDir(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".tmp." + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp_path_, ec);
  make_dirs(tmp_path_);
}

AtomicDir::~AtomicDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_path_, ec);
  }
}

void AtomicDir::commit() {
  // rename(2) cannot replace a non-empty directory: move the old one aside first, so that at
  // every instant either the old or the new complete directory is at `path_`.
  std::string old = path_ + ".old." + std::to_string(::getpid());
  std::error_code ec;
  bool had_old = fs::exists(path_);
  if (had_old) fs::rename(path_, old, ec);
  if (ec) throw_user_error(path_, "cannot replace: " + ec.message());
  fs::rename(tmp_path_, path_, ec);
  if (ec) throw_user_error(path_, "cannot write: " + ec.message());
  committed_ = true;
  if (had_old) fs::remove_all(old, ec);
}

namespace {

// The pid of a staging name "<name>.tmp.<pid>" / "<name>.old.<pid>", or -1.
long staging_pid(const std::string& name) {
  for (const char* tag : {".tmp.", ".old."}) {
    const size_t at = name.rfind(tag);
    if (at == std::string::npos || at == 0) continue;
    const std::string digits = name.substr(at + 5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    return std::stol(digits);
  }
  return -1;
}

bool process_alive(long pid) { return pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

}  // namespace

std::vector<std::string> remove_stale_staging(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const long pid = staging_pid(name);
    if (pid <= 0 || process_alive(pid)) continue;
    std::error_code rm;
    fs::remove_all(e.path(), rm);
    if (!rm) removed.push_back(name);
  }
  return removed;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw_user_error(path, "cannot create directory: " + ec.message());
}

std::string data_root() {
  if (const char* env = std::getenv("LMLAB_DATA"); env && *env) return env;
  if (fs::is_directory("../shared/data")) return "../shared/data";
  return LMLAB_SOURCE_DIR "/../shared/data";
}

std::string data_path(const std::string& relative) {
  std::string p = data_root() + "/" + relative;
  if (!file_exists(p))
    throw_user_error(p, "missing data file (set LMLAB_DATA to the shared data directory)");
  return p;
}

}  // namespace lmlab
