// `lmlab data check`: format detection by name, one summary line per good file, and for a
// malformed file of each format exit status 2 with one stderr line naming the file.
#include <gtest/gtest.h>

#include <algorithm>

#include "lmlab/data/data_check.h"
#include "record_test_util.h"
#include "testing.h"

using lmlab::test::TempDir;

namespace {

std::string idx_bytes(uint8_t type, const std::vector<uint8_t>& dims, const std::string& data) {
  std::string b{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint8_t d : dims) b += std::string{'\0', '\0', '\0', static_cast<char>(d)};
  return b + data;
}

int stderr_lines(const std::string& err) { return static_cast<int>(std::count(err.begin(), err.end(), '\n')); }

}  // namespace

TEST(DataCheck, DetectsTheFormatByName) {
  using lmlab::data::detect_data_format;
  TempDir dir;
  lmlab::test::write_text(dir.file("a.jsonl"), "\n{\"instruction\": \"i\", \"output\": \"o\"}\n");
  lmlab::test::write_text(dir.file("b.jsonl"), "{\"text\": \"t\", \"label\": 0}\n");
  EXPECT_EQ(detect_data_format("x/t10k-images-idx3-ubyte.gz"), "idx");
  EXPECT_EQ(detect_data_format("usps-train-labels-idx1-ubyte.gz"), "idx");
  EXPECT_EQ(detect_data_format("cifar10-test-first1000.bin.gz"), "cifar10");
  EXPECT_EQ(detect_data_format("lima.json"), "instructions");
  EXPECT_EQ(detect_data_format(dir.file("a.jsonl")), "instructions");
  EXPECT_EQ(detect_data_format(dir.file("b.jsonl")), "text-jsonl");
  EXPECT_EQ(detect_data_format("valid.txt"), "response-tsv");
  EXPECT_EQ(detect_data_format("pairs.tsv.gz"), "response-tsv");
  std::string err = lmlab::test::user_error_of([] { detect_data_format("train.bin"); });
  EXPECT_NE(err.find("train.bin: cannot tell the data format from the name; pass --format"), std::string::npos) << err;
}

TEST(DataCheck, PrintsOneSummaryLinePerFile) {
  TempDir dir;
  lmlab::test::write_text(dir.file("s-images-idx3-ubyte"), idx_bytes(0x08, {3, 1, 2}, "abcdef"));
  lmlab::test::write_text(dir.file("s-labels-idx1-ubyte"), idx_bytes(0x08, {3}, std::string{1, 0, 1}));
  lmlab::test::write_text(dir.file("t.jsonl"), "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 1}\n");
  lmlab::test::write_text(dir.file("r.txt"), "1\ta\tb\tc\n0\ta\tc\n");
  lmlab::test::write_text(dir.file("i.json"), "[{\"instruction\": \"i\", \"input\": \"x\", \"output\": \"o\"}]");
  auto r = lmlab::test::run_lmlab("data check " + dir.file("s-images-idx3-ubyte") + " " + dir.file("t.jsonl") + " " +
                                  dir.file("r.txt") + " " + dir.file("i.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dir.file("s-images-idx3-ubyte") + ": idx: 3 images 1x1x2 (labels from " +
                       dir.file("s-labels-idx1-ubyte") + "), labels 0:1 1:2\n" + dir.file("t.jsonl") +
                       ": text-jsonl: 2 records, labels 1:2\n" + dir.file("r.txt") +
                       ": response-tsv: 2 lines (1 positive, 1 negative), 1-2 utterances per context (mean 1.5)\n" +
                       dir.file("i.json") + ": instructions: 1 examples, 1 with input, 0 with history\n");
  auto labels = lmlab::test::run_lmlab("data check " + dir.file("s-labels-idx1-ubyte"));
  EXPECT_EQ(labels.out, dir.file("s-labels-idx1-ubyte") + ": idx: uint8 3\n") << labels.err;
}

TEST(DataCheck, MalformedFileOfEachFormatExitsTwoWithOneLine) {
  TempDir dir;
  struct Case {
    std::string name, content, format, expected;
  };
  const std::vector<Case> cases{
      {"bad-images-idx3-ubyte", idx_bytes(0x08, {2, 2, 2}, "abc"), "auto", ": byte 19: truncated"},
      {"bad.bin", std::string(3074, '\0'), "cifar10", ": byte 3073: truncated"},
      {"bad.jsonl", "{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\"}\n", "auto", ":2:1: missing key 'label'"},
      {"bad.txt", "1\ta\tb\n0\tab\n", "auto", ":2: expected label, at least one utterance"},
      {"bad.json", "[{\"instruction\": \"i\", \"output\": \"o\"}, {\"instruction\": 1}]", "auto",
       ": record 2: 'instruction' must be a string"},
      {"bad.data", "{\"instruction\": \"i\"}\n", "instructions", ":1:1: missing key 'output'"},
  };
  lmlab::test::write_text(dir.file("bad-labels-idx1-ubyte"), idx_bytes(0x08, {2}, "\x01\x02"));
  for (const Case& c : cases) {
    lmlab::test::write_text(dir.file(c.name), c.content);
    auto r = lmlab::test::run_lmlab("data check --format " + c.format + " " + dir.file(c.name));
    EXPECT_EQ(r.exit_code, 2) << c.name;
    EXPECT_EQ(stderr_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("lmlab: error: " + dir.file(c.name) + c.expected, 0), 0u) << r.err;
  }
  auto missing = lmlab::test::run_lmlab("data check " + dir.file("nope.jsonl"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.jsonl: no such file"), std::string::npos) << missing.err;
  auto unknown = lmlab::test::run_lmlab("data check --format csv " + dir.file("bad.txt"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_EQ(stderr_lines(unknown.err), 1) << unknown.err;
}

TEST(DataCheck, ReadsTheSharedFiles) {
  LMLAB_SHARED_FILE_OR_SKIP(usps, "vision/usps/usps-test-images-idx3-float32.gz");
  LMLAB_SHARED_FILE_OR_SKIP(ubuntu, "dialogue/ubuntu_v1_sample/valid.txt");
  LMLAB_SHARED_FILE_OR_SKIP(lima, "sft/lima/lima.json");
  LMLAB_SHARED_FILE_OR_SKIP(hc3, "hc3/hc3_plus/zh/val_hc3_QA.jsonl");
  auto r = lmlab::test::run_lmlab("data check " + usps + " " + ubuntu + " " + lima + " " + hc3);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(usps + ": idx: 2007 images 1x16x16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(ubuntu + ": response-tsv: 180 lines (18 positive, 162 negative)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(lima + ": instructions: 1029 examples, 0 with input, 29 with history"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(hc3 + ": text-jsonl: 1780 records"), std::string::npos) << r.out;
}
