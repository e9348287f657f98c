// Whole-record appends (append_file.h): a failed write leaves the file as it was before the
// record and names the file and errno; and the staging entries a killed run leaves are removed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "lmlab/common/append_file.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "testing.h"
#include "user_error_of.h"

using namespace lmlab;
using lmlab::test::user_error_of;
namespace fs = std::filesystem;

TEST(AppendFile, RecordsAreAppendedWhole) {
  test::TempDir tmp;
  const std::string path = tmp.file("log.jsonl");
  {
    AppendFile f(path, /*truncate=*/true);
    f.append("{\"step\":1}\n");
    f.append("{\"step\":2}\n");
  }
  append_record(path, "{\"step\":3}\n");
  EXPECT_EQ(test::read_text(path), "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n");
  AppendFile again(path, /*truncate=*/true);
  EXPECT_EQ(test::read_text(path), "");
}

TEST(AppendFile, AFullDiskNamesTheFileAndErrno) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  const std::string message = user_error_of([] { AppendFile("/dev/full", false).append("{\"step\":1}\n"); });
  EXPECT_NE(message.find("/dev/full"), std::string::npos) << message;
  EXPECT_NE(message.find("No space left on device (errno 28)"), std::string::npos) << message;
}

TEST(AppendFile, AShortWriteThenAFailureLeavesNoPartialRecord) {
  // A file-size limit makes the kernel write part of the record, then refuse the rest (EFBIG):
  // the same sequence as a disk that fills up in the middle of a record.
  test::TempDir tmp;
  const std::string path = tmp.file("log.jsonl");
  test::write_text(path, "{\"step\":1}\n");  // 11 bytes
  AppendFile f(path, false);
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit small = old;
  small.rlim_cur = 16;
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string message = user_error_of([&] { f.append("{\"step\":2,\"loss\":3.25}\n"); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("nothing of this record was kept"), std::string::npos) << message;
  EXPECT_EQ(test::read_text(path), "{\"step\":1}\n");
  f.append("{\"step\":2}\n");  // the file goes on from where it was
  EXPECT_EQ(test::read_text(path), "{\"step\":1}\n{\"step\":2}\n");
}

TEST(Files, StagingLeftByADeadProcessIsRemovedAndALiveOnesIsKept) {
  test::TempDir tmp;
  // A pid that is certainly not running: a child that has exited and been reaped.
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(dead, &status, 0), dead);
  const std::string d = std::to_string(dead), self = std::to_string(::getpid());
  fs::create_directories(tmp.file("step_00000010.tmp." + d));
  test::write_text(tmp.file("step_00000010.tmp." + d + "/model.safetensors"), "half");
  test::write_text(tmp.file("metrics.jsonl.tmp." + d), "half");
  fs::create_directories(tmp.file("step_00000005.old." + d));
  fs::create_directories(tmp.file("step_00000020.tmp." + self));  // this process is writing it
  fs::create_directories(tmp.file("step_00000030"));
  test::write_text(tmp.file("notes.tmp.txt"), "not a staging name");
  auto removed = remove_stale_staging(tmp.path());
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"metrics.jsonl.tmp." + d, "step_00000005.old." + d,
                                               "step_00000010.tmp." + d}));
  EXPECT_TRUE(fs::exists(tmp.file("step_00000020.tmp." + self)));
  EXPECT_TRUE(fs::exists(tmp.file("step_00000030")));
  EXPECT_TRUE(fs::exists(tmp.file("notes.tmp.txt")));
  EXPECT_TRUE(remove_stale_staging(tmp.file("missing")).empty());
}
