// `lmlab tokenizer ...` end to end: train / encode / decode / stats, and bad input -> exit 2,
// one line on stderr, no output file left behind.
#include <gtest/gtest.h>

#include "lmlab/common/files.h"
#include "testing.h"

using lmlab::test::read_text;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

bool one_error_line(const std::string& err) {
  return err.rfind("lmlab: error: ", 0) == 0 && err.find('\n') == err.size() - 1;
}

}  // namespace

TEST(TokenizerCli, TrainEncodeDecodeStats) {
  TempDir dir;
  std::string corpus = lmlab::data_path("lm/wikitext-2/valid.txt");
  for (const char* algo : {"bpe", "scaffold"}) {
    std::string tok = dir.file(std::string(algo) + ".json");
    auto r = run_lmlab(std::string("tokenizer train --algo ") + algo + " --vocab-size 600 --threads 2 --input " +
                       corpus + " --output " + tok);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::string text = "Hello <|endoftext|> w\xC3\xB6rld \xFF\xFE 12345\n";
    write_text(dir.file("in.txt"), text);
    r = run_lmlab("tokenizer encode --ids --tokenizer " + tok + " --input " + dir.file("in.txt") + " --output " +
                  dir.file("ids.txt"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_lmlab("tokenizer decode --tokenizer " + tok + " --input " + dir.file("ids.txt"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, text);
    r = run_lmlab("tokenizer encode --tokenizer " + tok, "in the");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Ġthe"), std::string::npos) << r.out;
    r = run_lmlab("tokenizer stats --tokenizer " + tok + " --input " + corpus);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("vocab size      600"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("bytes/token"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("scaffold |S|"), std::string::npos) << r.out;
  }
}

TEST(TokenizerCli, BadInputExitsTwoWithOneLineAndNoOutput) {
  TempDir dir;
  std::string out = dir.file("tok.json");
  write_text(dir.file("empty.txt"), "");
  write_text(dir.file("small.txt"), "some text to train on\n");
  write_text(dir.file("bad.json"), "{\"model\": {\"vocab\": [");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tokenizer train --vocab-size 1000 --input " + dir.file("empty.txt") + " --output " + out, "empty"},
      {"tokenizer train --vocab-size 256 --input " + dir.file("small.txt") + " --output " + out, "256 bytes + 1 special"},
      {"tokenizer train --vocab-size 1000 --input " + dir.file("missing.txt") + " --output " + out, "missing.txt"},
      {"tokenizer train --algo wordpiece --vocab-size 1000 --input " + dir.file("small.txt") + " --output " + out, "algo"},
      {"tokenizer encode --tokenizer " + dir.file("bad.json") + " --output " + out, "bad.json:1:22: invalid JSON"},
      {"tokenizer stats --tokenizer " + dir.file("missing.json"), "missing.json"},
  };
  for (const auto& [args, expect] : cases) {
    auto r = run_lmlab(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(one_error_line(r.err)) << args << ": " << r.err;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << ": " << r.err;
    EXPECT_FALSE(lmlab::file_exists(out)) << args;
  }
  auto r = run_lmlab("tokenizer train --vocab-size 300 --input " + dir.file("small.txt") + " --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_lmlab("tokenizer decode --tokenizer " + out, "1 2 99999999");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_error_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("<stdin>: byte 4"), std::string::npos) << r.err;
}
