// Issue #23, class 1: no command that writes a directory may destroy its inputs or a directory
// lmlab did not write. An output that is, contains or lies inside an input is refused (with
// --force too); a non-empty foreign directory is written only with --force
// (src/lmlab/common/output_dir.h). Each refusal is one "lmlab: error:" line, exit 2, and leaves
// the source run byte for byte as it was.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "expect_error.h"
#include "testing.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
using lmlab::test::expect_one_error_line;
using lmlab::test::read_text;
using lmlab::test::run_lmlab;
using lmlab::test::RunResult;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_text(e.path().string());
  return files;
}

class SourceRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { run_ = new lmlab::test::TinyRun; }
  static void TearDownTestSuite() { delete run_; }
  static std::string file(const std::string& name) { return run_->file(name); }

  void SetUp() override {
    before_ = snapshot(file("run"));
    ASSERT_TRUE(before_.count("metrics.jsonl"));
    ASSERT_TRUE(before_.count("checkpoints/latest"));
    ASSERT_TRUE(std::any_of(before_.begin(), before_.end(), [](const auto& f) { return f.first.rfind("tb/", 0) == 0; }));
  }
  void TearDown() override { EXPECT_EQ(snapshot(file("run")), before_) << "the source run changed"; }

  static lmlab::test::TinyRun* run_;
  std::map<std::string, std::string> before_;
};

lmlab::test::TinyRun* SourceRun::run_ = nullptr;

}  // namespace

TEST_F(SourceRun, ExportOverItsOwnRunIsRefused) {
  const std::string run = file("run"), ckpt = "checkpoints/step_00000003";
  expect_one_error_line(run_lmlab("export hf --checkpoint " + run + " --output " + run),
                 {"--output is the same directory as --checkpoint " + run, run + ": "});
  // --force never allows an overlap, and "..", "." and a trailing "/" do not hide one.
  expect_one_error_line(run_lmlab("export hf --force --checkpoint " + run + " --output " + run + "/./tb/../"),
                 {"--output is the same directory as --checkpoint"});
  expect_one_error_line(run_lmlab("export hf --checkpoint " + run + "/" + ckpt + " --output " + run),
                 {"--output contains --checkpoint " + run + "/" + ckpt});
  expect_one_error_line(run_lmlab("export hf --checkpoint " + run + " --output " + run_->path()), {"--output contains"});
  expect_one_error_line(run_lmlab("export hf --checkpoint " + run + " --output " + run + "/checkpoints"),
                 {"--output contains --checkpoint " + run + "/" + ckpt});
  // Inside the run, a directory lmlab did not write there is part of it: --force does not help.
  expect_one_error_line(run_lmlab("export hf --force --checkpoint " + run + " --output " + run + "/tb"),
                 {"--output lies inside --checkpoint " + run + " and holds 'events.", "writing it would change the input"});
  fs::create_directory_symlink(run, file("link"));
  expect_one_error_line(run_lmlab("export hf --checkpoint " + run + " --output " + file("link")),
                 {file("link") + ": --output is the same directory as --checkpoint " + run});
  fs::remove(file("link"));
}

TEST_F(SourceRun, TrainImportAndPrepareRefuseOverlapsToo) {
  const std::string run = file("run");
  expect_one_error_line(run_lmlab("train --config " + file("t.toml") + " --set train.init_from=" + run),
                 {"run.out_dir is the same directory as train.init_from " + run});
  expect_one_error_line(run_lmlab("train --config " + file("t.toml") + " --set run.out_dir=" + run_->path()),
                 {"run.out_dir contains data.dir " + file("data")});
  expect_one_error_line(run_lmlab("import hf --force --input " + run + " --output " + run + "/tb"),
                 {"--output lies inside --input " + run + " and holds"});
  expect_one_error_line(run_lmlab("data prepare --tokenizer " + file("tok.json") + " --input " + file("stories.txt") +
                           " --output " + run_->path()),
                 {"--output contains --tokenizer " + file("tok.json")});
  expect_one_error_line(run_lmlab("uniattn init --checkpoint " + run + " --data " + file("stories.txt") + " --output " + run),
                 {"--output is the same directory as --checkpoint " + run});
}

TEST_F(SourceRun, AFileOutputNeverReplacesItsInput) {
  const std::string corpus = read_text(file("stories.txt"));
  expect_one_error_line(run_lmlab("tokenizer train --vocab-size 300 --input " + file("stories.txt") + " --output " +
                           file("stories.txt")),
                 {"--output is the same file as --input " + file("stories.txt")});
  expect_one_error_line(run_lmlab("tokenizer encode --tokenizer " + file("tok.json") + " --input " + file("stories.txt") +
                           " --output " + file("./stories.txt")),
                 {"--output is the same file as --input"});
  EXPECT_EQ(read_text(file("stories.txt")), corpus);
}

TEST_F(SourceRun, QuickstartRefusesToWriteIntoItsData) {
  TempDir data;
  fs::create_directories(data.file("lm/tinystories"));
  write_text(data.file("lm/tinystories/tinystories_train_slice_lowercased.txt"), "once upon a time\n");
  const std::map<std::string, std::string> data_before = snapshot(data.path());
  expect_one_error_line(run_lmlab("quickstart --force --data " + data.path() + " --output " + data.file("lm")),
                 {"--output lies inside --data " + data.path() + " and holds 'tinystories'"});
  expect_one_error_line(run_lmlab("quickstart --force --data " + data.path() + " --output " + data.path()),
                 {"--output is the same directory as --data"});
  EXPECT_EQ(snapshot(data.path()), data_before);
}

TEST_F(SourceRun, AForeignDirectoryIsWrittenOnlyWithForce) {
  TempDir out;
  const std::string mine = out.file("mine");
  fs::create_directories(mine + "/sub");
  write_text(mine + "/notes.txt", "my notes\n");
  const std::string export_cmd = "export hf --checkpoint " + file("run") + " --output " + mine;
  expect_one_error_line(run_lmlab(export_cmd), {mine + ": --output is a non-empty directory lmlab did not write", "--force"});
  EXPECT_EQ(read_text(mine + "/notes.txt"), "my notes\n");
  EXPECT_FALSE(fs::exists(mine + "/config.json"));

  RunResult forced = run_lmlab(export_cmd + " --force");
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(fs::exists(mine + "/config.json"));
  EXPECT_FALSE(fs::exists(mine + "/notes.txt"));  // --force replaced the directory as asked
  // Now it is lmlab's own export: a second export replaces it without --force.
  EXPECT_EQ(run_lmlab(export_cmd).exit_code, 0);

  // Commands that write files into a directory keep what else it holds under --force.
  const std::string shards = out.file("shards");
  fs::create_directories(shards);
  write_text(shards + "/readme.md", "keep\n");
  const std::string prepare = "data prepare --tokenizer " + file("tok.json") + " --input " + file("stories.txt") +
                              " --output " + shards;
  expect_one_error_line(run_lmlab(prepare), {"it holds 'readme.md'"});
  EXPECT_FALSE(fs::exists(shards + "/train.bin"));
  ASSERT_EQ(run_lmlab(prepare + " --force").exit_code, 0);
  EXPECT_TRUE(fs::exists(shards + "/train.bin"));
  EXPECT_EQ(read_text(shards + "/readme.md"), "keep\n");

  // An existing file is never replaced by a directory.
  write_text(out.file("plain"), "x");
  expect_one_error_line(run_lmlab("export hf --force --checkpoint " + file("run") + " --output " + out.file("plain")),
                 {"--output exists and is not a directory"});
  EXPECT_EQ(read_text(out.file("plain")), "x");
}
