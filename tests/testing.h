// Shared helpers for lmlab's tests: scratch directories, running the `lmlab` executable.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lmlab::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lmlab-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `lmlab <args>` (args are passed to /bin/sh, so quote as needed) and captures both streams.
// `env` is prepended to the command line ("OMP_NUM_THREADS=1 ").
inline RunResult run_lmlab(const std::string& args, const std::string& stdin_text = "", const std::string& env = "") {
  TempDir tmp;
  std::string in = tmp.file("stdin"), out = tmp.file("stdout"), err = tmp.file("stderr");
  write_text(in, stdin_text);
  std::string cmd = env + "LMLAB_PROGRESS=plain '" + LMLAB_EXE + "' " + args + " <" + in +
                    " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

}  // namespace lmlab::test
