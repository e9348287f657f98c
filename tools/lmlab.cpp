// `lmlab`, the front: runs `lmlab tokenizer ...` itself, without libtorch (it starts in a few
// milliseconds instead of ~0.4 s, and in a few MiB instead of ~160), and execs its sibling
// `lmlab-core` (same directory, tools/lmlab_core.cpp) with the same arguments for every other
// command line, --help and --version included. exec keeps the process: its id, its standard
// streams, its exit status and the signals that reach it are the core's, so callers see one
// `lmlab` whichever part runs.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "cli_run.h"
#include "commands.h"

namespace {

// lmlab-core beside this executable; found through /proc/self/exe so that symlinks and relative
// invocations ("build/tools/lmlab", "./lmlab") all lead to the right sibling.
std::string core_path() {
  std::string self(4096, '\0');
  const ssize_t n = readlink("/proc/self/exe", self.data(), self.size());
  if (n <= 0 || static_cast<size_t>(n) >= self.size()) return "";
  self.resize(static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "lmlab-core";
}

int exec_core(char** argv) {
  const std::string core = core_path();
  if (!core.empty()) execv(core.c_str(), argv);  // returns only on failure
  std::cerr << "lmlab: internal error: cannot run " << (core.empty() ? "lmlab-core (/proc/self/exe unreadable)" : core)
            << ": " << std::strerror(errno) << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "tokenizer") return exec_core(argv);
  CLI::App app;
  lmlab::cli::init_root_app(app);
  lmlab::cli::add_tokenizer_commands(app);
  return lmlab::cli::run_app(app, argc, argv);
}
