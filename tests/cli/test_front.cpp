// `lmlab` is two executables (tools/lmlab.cpp): a torch-free front that runs the tokenizer
// commands itself, and lmlab-core beside it, which the front execs for everything else. These
// tests pin what that split must keep: no libtorch in a tokenizer command's process, the same
// output and exit status as the core for every command line, exec (same process, so signals and
// exit statuses pass through), and --help naming every command.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "testing.h"

namespace fs = std::filesystem;
using lmlab::test::read_text;
using lmlab::test::RunResult;
using lmlab::test::TempDir;
using lmlab::test::write_text;

extern char** environ;

namespace {

const std::string kFront = LMLAB_EXE;
const std::string kCore = fs::path(LMLAB_EXE).parent_path() / "lmlab-core";

// run_lmlab (testing.h) for any executable.
RunResult run_exe(const std::string& exe, const std::string& args) {
  TempDir tmp;
  std::string cmd = "'" + exe + "' " + args + " </dev/null >" + tmp.file("out") + " 2>" + tmp.file("err");
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(tmp.file("out")), read_text(tmp.file("err"))};
}

// A started `exe args...` (output to /dev/null) that has opened `fifo` for reading: it is inside
// main, its libraries are loaded. `writer` is our end of the fifo.
struct Blocked {
  pid_t pid = -1;
  int writer = -1;
};

Blocked start_blocked_on(const std::string& fifo, const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Blocked b;
  EXPECT_EQ(posix_spawn(&b.pid, args[0], &actions, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  // A non-blocking open for writing succeeds once a reader has the fifo open.
  for (int i = 0; i < 3000 && b.writer < 0; ++i) {
    b.writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    int status = 0;
    if (b.writer < 0 && waitpid(b.pid, &status, WNOHANG) == b.pid) {
      ADD_FAILURE() << argv[0] << " exited before opening " << fifo;
      b.pid = -1;
      return b;
    }
    if (b.writer < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(b.writer, 0) << argv[0] << " never opened " << fifo;
  return b;
}

bool maps_libtorch(pid_t pid) {
  std::string maps = read_text("/proc/" + std::to_string(pid) + "/maps");
  EXPECT_FALSE(maps.empty());
  return maps.find("libtorch") != std::string::npos || maps.find("libc10") != std::string::npos;
}

int wait_status(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

}  // namespace

TEST(Front, TokenizerCommandProcessHasNoLibtorchMapped) {
  TempDir tmp;
  const std::string fifo = tmp.file("tokenizer.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Blocked b = start_blocked_on(fifo, {kFront, "tokenizer", "encode", "--tokenizer", fifo, "--input", "/dev/null"});
  ASSERT_GT(b.pid, 0);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(b.pid) + "/exe"), fs::canonical(kFront));
  EXPECT_FALSE(maps_libtorch(b.pid)) << read_text("/proc/" + std::to_string(b.pid) + "/maps");
  close(b.writer);  // an empty tokenizer.json: refused as bad input
  int status = wait_status(b.pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
}

// The other side of the check above (so it can fail): a command the core runs is the same
// process, now lmlab-core with libtorch mapped, and a signal sent to the pid the caller started
// ends the core.
TEST(Front, OtherCommandsExecTheCoreInTheSameProcess) {
  TempDir tmp;
  const std::string fifo = tmp.file("tokenizer.json");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Blocked b = start_blocked_on(fifo, {kFront, "data", "prepare", "--tokenizer", fifo, "--input", fifo,
                                      "--output", tmp.file("shards")});
  ASSERT_GT(b.pid, 0);
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(b.pid) + "/exe"), fs::canonical(kCore));
  EXPECT_TRUE(maps_libtorch(b.pid));
  ASSERT_EQ(kill(b.pid, SIGTERM), 0);
  int status = wait_status(b.pid);
  close(b.writer);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
}

// Same stdout, stderr and exit status through the front as from the core itself, for tokenizer
// command lines (run by the front) and others (exec'd), successes and errors alike.
TEST(Front, SameOutputAndExitStatusAsTheCore) {
  TempDir tmp;
  write_text(tmp.file("bad.toml"), "[model]\nn_layr = 2\n");
  write_text(tmp.file("tok.json"), "{\"model\": 1}");
  const std::vector<std::string> lines = {
      "", "--help", "--version", "trian", "tokenizer", "tokenizer --help", "tokenizer encode --help",
      "tokenizer train --help", "tokenizer encdoe", "tokenizer --version", "tokenizer encode --no-such-option",
      "tokenizer encode --tokenizer " + tmp.file("missing.json"), "tokenizer stats --tokenizer " + tmp.file("tok.json"),
      "tokenizer decode --tokenizer " + tmp.file("tok.json"), "train --config " + tmp.file("bad.toml"),
      "train --no-such-option", "data prepare --help"};
  for (const auto& args : lines) {
    RunResult front = run_exe(kFront, args), core = run_exe(kCore, args);
    EXPECT_EQ(front.exit_code, core.exit_code) << "lmlab " << args;
    EXPECT_EQ(front.out, core.out) << "lmlab " << args;
    EXPECT_EQ(front.err, core.err) << "lmlab " << args;
  }
  EXPECT_EQ(run_exe(kFront, "train --config " + tmp.file("bad.toml")).exit_code, 2);
}

TEST(Front, HelpListsEveryCommand) {
  RunResult r = run_exe(kFront, "--help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* cmd : {"tokenizer", "data", "train", "eval", "generate", "scaling", "export", "import",
                          "quickstart", "uniattn", "results", "detect", "retrieve"})
    EXPECT_NE(r.out.find("\n  " + std::string(cmd) + " "), std::string::npos) << cmd << " missing in\n" << r.out;
  r = run_exe(kFront, "tokenizer --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* cmd : {"train", "encode", "decode", "stats"})
    EXPECT_NE(r.out.find("\n  " + std::string(cmd) + " "), std::string::npos) << cmd << " missing in\n" << r.out;
}

// The core is found beside the front's real file (/proc/self/exe), whatever path or link ran it;
// without a core the tokenizer commands still run and the others fail with one line, exit 1.
TEST(Front, FindsTheCoreThroughLinksAndNeedsNoneForTokenizerCommands) {
  TempDir tmp;
  fs::create_symlink(fs::canonical(kFront), tmp.file("lmlab-link"));
  RunResult linked = run_exe(tmp.file("lmlab-link"), "--version");
  EXPECT_EQ(linked.exit_code, 0) << linked.err;
  EXPECT_NE(linked.out.find("libtorch "), std::string::npos) << linked.out;

  const std::string alone_dir = fs::canonical(tmp.path()).string();
  fs::copy_file(kFront, alone_dir + "/lmlab");
  fs::permissions(alone_dir + "/lmlab", fs::perms::owner_exec, fs::perm_options::add);
  RunResult alone = run_exe(alone_dir + "/lmlab", "tokenizer encode --help");
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(alone.out, run_exe(kFront, "tokenizer encode --help").out);
  alone = run_exe(alone_dir + "/lmlab", "train --help");
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_EQ(alone.err, "lmlab: internal error: cannot run " + alone_dir + "/lmlab-core: No such file or directory\n");
}
