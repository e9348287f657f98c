// JSONL text classification, response-selection TSV and instruction readers: every field of
// a good file read back, a UserError naming file and line (or record) for each kind of bad
// record, and the shared data's files with the counts MANIFEST.md states.
#include <gtest/gtest.h>

#include "lmlab/data/instructions.h"
#include "lmlab/data/text_records.h"
#include "record_test_util.h"
#include "testing.h"

using namespace lmlab::data;
using lmlab::test::TempDir;
using lmlab::test::user_error_of;

namespace {

// The error of reading `content` as a file named `name` with `read`, which must name the
// file and then `expected`.
template <class Read>
void expect_error(const TempDir& dir, const std::string& name, const std::string& content, Read read,
                  const std::string& expected) {
  lmlab::test::write_text(dir.file(name), content);
  std::string err = user_error_of([&] { read(dir.file(name)); });
  EXPECT_NE(err.find(dir.file(name) + expected), std::string::npos) << name << ": " << err;
}

}  // namespace

TEST(TextJsonl, ReadsTextAndLabelIgnoringOtherKeys) {
  TempDir dir;
  lmlab::test::write_text(dir.file("t.jsonl"),
                          "{\"text\": \"héllo\\nworld\", \"label\": 0}\n\n"
                          "{\"label\": 1, \"text\": \"\", \"source\": \"x\"}\r\n"
                          "{\"text\": \"last\", \"label\": 7}");
  std::vector<TextExample> r = read_text_jsonl(dir.file("t.jsonl"));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].text, "héllo\nworld");
  EXPECT_EQ(r[0].label, 0);
  EXPECT_EQ(r[1].text, "");
  EXPECT_EQ(r[1].label, 1);
  EXPECT_EQ(r[2].label, 7);
  std::string gz = lmlab::test::gzip_copy(dir.file("t.jsonl"));
  EXPECT_EQ(read_text_jsonl(gz).size(), 3u);
}

TEST(TextJsonl, EveryBadRecordNamesFileAndLine) {
  TempDir dir;
  const std::string ok = "{\"text\": \"a\", \"label\": 1}\n";
  auto read = [](const std::string& p) { read_text_jsonl(p); };
  expect_error(dir, "syntax", ok + "{\"text\": \"a\", \"label\": 1\n", read, ":2:25: invalid JSON");
  expect_error(dir, "array", ok + ok + "[1, 2]\n", read, ":3:1: expected a JSON object, got an array");
  expect_error(dir, "notext", ok + "{\"label\": 1}\n", read, ":2:1: missing key 'text'");
  expect_error(dir, "texttype", "{\"text\": 5, \"label\": 1}\n", read, ":1:1: 'text' must be a string, got an integer");
  expect_error(dir, "nolabel", "{\"text\": \"a\"}\n", read, ":1:1: missing key 'label'");
  expect_error(dir, "strlabel", "{\"text\": \"a\", \"label\": \"human\"}\n", read,
               ":1:1: 'label' must be an integer >= 0, got \"human\"");
  expect_error(dir, "neglabel", "{\"text\": \"a\", \"label\": -1}\n", read, ":1:1: 'label' must be an integer >= 0");
  expect_error(dir, "floatlabel", "{\"text\": \"a\", \"label\": 1.5}\n", read, ":1:1: 'label' must be an integer");
  expect_error(dir, "boollabel", "{\"text\": \"a\", \"label\": true}\n", read, ":1:1: 'label' must be an integer");
  expect_error(dir, "empty", "\n  \n", read, ": no records");
}

TEST(ResponseTsv, ReadsLabelContextAndResponse) {
  TempDir dir;
  lmlab::test::write_text(dir.file("r.txt"), "1\thi\tthere\t\tanswer\r\n0\tone turn\tneg\n1\tu\t");
  std::vector<ResponseExample> r = read_response_tsv(dir.file("r.txt"));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].label, 1);
  EXPECT_EQ(r[0].context, (std::vector<std::string>{"hi", "there", ""}));
  EXPECT_EQ(r[0].response, "answer");
  EXPECT_EQ(r[1].label, 0);
  EXPECT_EQ(r[1].context, (std::vector<std::string>{"one turn"}));
  EXPECT_EQ(r[1].response, "neg");
  EXPECT_EQ(r[2].context, (std::vector<std::string>{"u"}));  // last line without "\n", empty response
  EXPECT_EQ(r[2].response, "");
}

TEST(ResponseTsv, EveryBadLineNamesFileAndLine) {
  TempDir dir;
  const std::string ok = "1\tctx\tresp\n";
  auto read = [](const std::string& p) { read_response_tsv(p); };
  expect_error(dir, "columns", ok + "1\tonly response\n", read,
               ":2: expected label, at least one utterance and a response (3 or more tab-separated fields), got 2");
  expect_error(dir, "blank", ok + "\n" + ok, read, ":2: expected label");
  expect_error(dir, "label", ok + ok + "2\tc\tr\n", read, ":3: label must be 0 or 1, got '2'");
  expect_error(dir, "spaces", "1 c r\n", read, ":1: expected label");
  expect_error(dir, "empty", "", read, ": no records");
}

TEST(Instructions, ReadsArrayAndJsonlWithHistory) {
  TempDir dir;
  const std::string a = "{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}";
  const std::string b =
      "{\"instruction\": \"And now?\", \"output\": \"4\", \"history\": [[\"Hi\", \"Hello\"], [\"Q\", \"A\"]], \"x\": 1}";
  lmlab::test::write_text(dir.file("i.json"), "\n [" + a + ",\n" + b + "]\n");
  lmlab::test::write_text(dir.file("i.jsonl"), a + "\n" + b + "\n");
  for (const std::string& path : {dir.file("i.json"), dir.file("i.jsonl")}) {
    std::vector<Instruction> r = read_instructions(path);
    ASSERT_EQ(r.size(), 2u) << path;
    EXPECT_EQ(r[0].instruction, "Add");
    EXPECT_EQ(r[0].input, "1 2");
    EXPECT_EQ(r[0].output, "3");
    EXPECT_TRUE(r[0].history.empty());
    EXPECT_EQ(r[1].input, "");
    ASSERT_EQ(r[1].history.size(), 2u);
    EXPECT_EQ(r[1].history[0], (std::pair<std::string, std::string>{"Hi", "Hello"}));
    EXPECT_EQ(r[1].history[1].second, "A");
  }
}

TEST(Instructions, BadRecordsNameRecordOrLine) {
  TempDir dir;
  const std::string ok = "{\"instruction\": \"i\", \"output\": \"o\"}";
  auto read = [](const std::string& p) { read_instructions(p); };
  expect_error(dir, "a1.json", "[" + ok + ",\n{\"output\": \"o\"}]", read, ": record 2: missing key 'instruction'");
  expect_error(dir, "a2.json", "[" + ok + ", " + ok + ", 3]", read, ": record 3: expected a JSON object, got an integer");
  expect_error(dir, "a3.json", "[{\"instruction\": \"i\"}]", read, ": record 1: missing key 'output'");
  expect_error(dir, "a4.json", "[{\"instruction\": \"i\", \"output\": 1}]", read,
               ": record 1: 'output' must be a string, got an integer");
  expect_error(dir, "a5.json", "[{\"instruction\": \"i\", \"output\": \"o\", \"input\": null}]", read,
               ": record 1: 'input' must be a string, got null");
  expect_error(dir, "a6.json", "[{\"instruction\": \"i\", \"output\": \"o\", \"history\": [[\"u\"]]}]", read,
               ": record 1: history[0] must be a [user, assistant] pair of strings, got [\"u\"]");
  expect_error(dir, "a7.json", "[{\"instruction\": \"i\", \"output\": \"o\", \"history\": \"u\"}]", read,
               ": record 1: 'history' must be an array");
  expect_error(dir, "a8.json", "[" + ok + ",\n  " + ok + "\n  " + ok + "]", read, ":3:3: invalid JSON");
  expect_error(dir, "a9.json", "[]", read, ": no records");
  expect_error(dir, "l1.jsonl", ok + "\n" + ok + "\n{\"instruction\": \"i\"}\n", read, ":3:1: missing key 'output'");
  expect_error(dir, "l2.jsonl", ok + "\n{\"instruction\": \"i\", \"output\": \"o\", \"history\": [[1, \"a\"]]}", read,
               ":2:1: history[0] must be a [user, assistant] pair of strings");
}

TEST(SharedText, FilesHaveTheManifestCounts) {
  LMLAB_SHARED_FILE_OR_SKIP(hc3, "hc3/hc3_plus/zh/val_hc3_QA.jsonl");
  std::vector<TextExample> t = read_text_jsonl(hc3);
  EXPECT_EQ(t.size(), 1780u);
  for (const auto& e : t) ASSERT_TRUE(e.label == 0 || e.label == 1);
  LMLAB_SHARED_FILE_OR_SKIP(ubuntu, "dialogue/ubuntu_v1_sample/valid.txt");
  std::vector<ResponseExample> u = read_response_tsv(ubuntu);
  ASSERT_EQ(u.size(), 180u);
  int64_t positive = 0;
  for (const auto& e : u) positive += e.label;
  EXPECT_EQ(positive, 18);  // 18 contexts x (1 positive + 9 negatives)
  EXPECT_EQ(u.back().response.back(), 's');  // the last line, without "\n", ends "... what it is"
  LMLAB_SHARED_FILE_OR_SKIP(ecommerce, "dialogue/ecommerce_sample/test.txt");
  // MANIFEST's "999 lines" is `wc -l`: the last of the 100 x 10 candidates has no final "\n".
  EXPECT_EQ(read_response_tsv(ecommerce).size(), 1000u);
}

TEST(SharedText, InstructionFilesHaveTheManifestCounts) {
  LMLAB_SHARED_FILE_OR_SKIP(alpaca, "sft/alpaca/alpaca_5000.json");
  std::vector<Instruction> a = read_instructions(alpaca);
  EXPECT_EQ(a.size(), 5000u);
  EXPECT_EQ(std::count_if(a.begin(), a.end(), [](const Instruction& r) { return !r.input.empty(); }), 1943);
  LMLAB_SHARED_FILE_OR_SKIP(lima, "sft/lima/lima.json");
  std::vector<Instruction> l = read_instructions(lima);
  EXPECT_EQ(l.size(), 1029u);
  EXPECT_EQ(std::count_if(l.begin(), l.end(), [](const Instruction& r) { return !r.history.empty(); }), 29);
}
