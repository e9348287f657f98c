#include <gtest/gtest.h>

#include <filesystem>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "testing.h"

using namespace lmlab;
namespace fs = std::filesystem;

TEST(Error, FormatsFileLineColumn) {
  EXPECT_EQ(format_error({"a.toml", 3, 7}, "bad"), "a.toml:3:7: bad");
  EXPECT_EQ(format_error({"a.bin", 0, 0, 128}, "bad"), "a.bin: byte 128: bad");
  EXPECT_EQ(format_error({"a.txt"}, "bad"), "a.txt: bad");
}

TEST(Error, ClosestMatch) {
  EXPECT_EQ(closest_match("trian", {"train", "eval", "generate"}), "train");
  EXPECT_EQ(closest_match("zzzzzz", {"train", "eval"}), "");
  EXPECT_EQ(closest_match("train.n_layer", {"model.n_layer", "train.lr"}), "model.n_layer");
}

TEST(Files, AtomicFileCommitsOrLeavesNothing) {
  test::TempDir tmp;
  std::string path = tmp.file("out.txt");
  test::write_text(path, "original");
  {
    AtomicFile f(path);
    f.write("half-writ");
    // destroyed without commit: as if an error interrupted the write
  }
  EXPECT_EQ(test::read_text(path), "original");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}), 1);
  write_file_atomic(path, "new");
  EXPECT_EQ(test::read_text(path), "new");
}

TEST(Files, AtomicDirReplacesWhole) {
  test::TempDir tmp;
  std::string dir = tmp.file("ckpt");
  {
    AtomicDir d(dir);
    test::write_text(d.staging() + "/a", "1");
    d.commit();
  }
  {
    AtomicDir d(dir);
    test::write_text(d.staging() + "/b", "2");
    // not committed
  }
  EXPECT_TRUE(file_exists(dir + "/a"));
  EXPECT_FALSE(file_exists(dir + "/b"));
  {
    AtomicDir d(dir);
    test::write_text(d.staging() + "/b", "2");
    d.commit();
  }
  EXPECT_FALSE(file_exists(dir + "/a"));
  EXPECT_EQ(test::read_text(dir + "/b"), "2");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator{}), 1);
}

TEST(Files, ReadFileErrorsAndGzip) {
  test::TempDir tmp;
  try {
    read_file(tmp.file("missing.txt"));
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()), tmp.file("missing.txt") + ": no such file");
  }
  std::string plain = tmp.file("x.txt");
  test::write_text(plain, "hello gzip\n");
  ASSERT_EQ(std::system(("gzip -k -n " + plain).c_str()), 0);
  EXPECT_EQ(read_file(plain + ".gz"), "hello gzip\n");
  test::write_text(tmp.file("bad.gz"), "not gzip at all");
  EXPECT_EQ(read_file(tmp.file("bad.gz")), "not gzip at all");  // zlib passes through non-gzip data
}

TEST(Progress, Formatting) {
  EXPECT_EQ(Progress::format_rate(25.4e6, "B"), "25.4 MB/s");
  EXPECT_EQ(Progress::format_rate(950, "tok"), "950.0 tok/s");
  EXPECT_EQ(Progress::format_duration(42), "42s");
  EXPECT_EQ(Progress::format_duration(185), "3m05s");
  EXPECT_EQ(Progress::format_duration(3720), "1h02m");
}
