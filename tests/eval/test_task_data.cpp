// Task files -> requests: each layout on hand-made items (exact prompt strings), bad files give
// "file:line" errors, and the shared data files load with their published sizes.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/eval/task_data.h"
#include "testing.h"

using namespace lmlab::eval;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(TaskData, HellaswagSixLineFormat) {
  TempDir dir;
  write_text(dir.file("h.txt"),
             "Cooking: A man cuts [step] an onion. he\n2\nsings.\n  dances  a jig.\nchops it.\n[title] runs.\n");
  TaskData t = parse_hellaswag(dir.file("h.txt"));
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.items[0].gold, 2);
  ASSERT_EQ(t.items[0].choices.size(), 4u);
  EXPECT_EQ(t.items[0].choices[0].request.context, "Cooking: A man cuts an onion. He");  // ctx_b.capitalize()
  EXPECT_EQ(t.items[0].choices[1].request.continuation, " dances a jig.");
  EXPECT_EQ(t.items[0].choices[1].norm_chars, 13);  // "dances a jig.", no delimiter
  EXPECT_EQ(t.items[0].choices[3].request.continuation, "  runs.");
}

TEST(TaskData, HellaswagPreprocessMatchesLmEval) {
  EXPECT_EQ(hellaswag_preprocess("  How to x [title] Do y [step] now.  "), "How to x. Do y now.");
  EXPECT_EQ(hellaswag_preprocess("a   b"), "a  b");  // Python's one-pass replace("  ", " ")
}

TEST(TaskData, HellaswagErrorsNameTheLine) {
  TempDir dir;
  write_text(dir.file("h.txt"), "ctx\n7\na\nb\nc\nd\n");
  EXPECT_EQ(error_of([&] { parse_hellaswag(dir.file("h.txt")); }),
            dir.file("h.txt") + ":2:1: answer index 7 out of range (4 choices)");
  write_text(dir.file("h.txt"), "ctx\n1\na\nb\nc\n");
  EXPECT_NE(error_of([&] { parse_hellaswag(dir.file("h.txt")); }).find("expected 6 lines per item"), std::string::npos);
}

TEST(TaskData, PiqaQuestionAnswerPrompt) {
  TempDir dir;
  write_text(dir.file("p.jsonl"), "{\"goal\": \"Open a jar\", \"sol1\": \"twist the lid\", \"sol2\": \"eat it\"}\n");
  write_text(dir.file("l.lst"), "0\n");
  TaskData t = parse_piqa(dir.file("p.jsonl"), dir.file("l.lst"));
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.items[0].choices[0].request.context, "Question: Open a jar\nAnswer:");
  EXPECT_EQ(t.items[0].choices[1].request.continuation, " eat it");
  EXPECT_EQ(t.items[0].gold, 0);
  write_text(dir.file("l.lst"), "");
  EXPECT_EQ(error_of([&] { parse_piqa(dir.file("p.jsonl"), dir.file("l.lst")); }),
            dir.file("l.lst") + ":1:1: missing label for " + dir.file("p.jsonl") + ":1");
}

TEST(TaskData, WinograndePartialScoring) {
  TempDir dir;
  write_text(dir.file("w.jsonl"),
             "{\"sentence\": \"Ann beat Bo so _ was proud .\", \"option1\": \"Ann\", \"option2\": \"Bo\", "
             "\"answer\": \"1\"}\n");
  TaskData t = parse_winogrande(dir.file("w.jsonl"));
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.metrics, TaskMetrics::kAcc);
  EXPECT_EQ(t.items[0].choices[0].request.context, "Ann beat Bo so Ann");
  EXPECT_EQ(t.items[0].choices[1].request.context, "Ann beat Bo so Bo");
  EXPECT_EQ(t.items[0].choices[0].request.continuation, " was proud .");
  EXPECT_EQ(t.items[0].choices[1].request.continuation, " was proud .");
  EXPECT_EQ(t.items[0].gold, 0);
  write_text(dir.file("w.jsonl"), "\n{\"sentence\": \"no blank\", \"option1\": \"a\", \"option2\": \"b\", \"answer\": \"1\"}\n");
  EXPECT_EQ(error_of([&] { parse_winogrande(dir.file("w.jsonl")); }), dir.file("w.jsonl") + ":2:1: sentence has no blank '_'");
}

TEST(TaskData, MosaicLayouts) {
  TempDir dir;
  write_text(dir.file("arc.jsonl"), "{\"query\": \"Question: Why?\", \"choices\": [\"a\", \"b\", \"c\"], \"gold\": 2}\n");
  TaskData t = parse_mosaic_choices("arc_easy", dir.file("arc.jsonl"), "\nAnswer:", TaskMetrics::kAccAndNorm);
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.items[0].choices.size(), 3u);
  EXPECT_EQ(t.items[0].choices[2].request.context, "Question: Why?\nAnswer:");
  EXPECT_EQ(t.items[0].choices[2].request.continuation, " c");
  EXPECT_EQ(t.items[0].gold, 2);
  write_text(dir.file("arc.jsonl"), "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 2}\n");
  EXPECT_EQ(error_of([&] { parse_mosaic_choices("x", dir.file("arc.jsonl"), "", TaskMetrics::kAcc); }),
            dir.file("arc.jsonl") + ":1:1: 'gold' 2 out of range (2 choices)");
  write_text(dir.file("arc.jsonl"), "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n{\"query\": oops}\n");
  EXPECT_EQ(error_of([&] { parse_mosaic_choices("x", dir.file("arc.jsonl"), "", TaskMetrics::kAcc); }),
            dir.file("arc.jsonl") + ":2:11: invalid JSON: syntax error while parsing value - invalid literal; last read: '\"query\": o'");
  write_text(dir.file("arc.jsonl"), "{\"choices\": [\"a\", \"b\"], \"gold\": 0}\n");
  EXPECT_EQ(error_of([&] { parse_mosaic_choices("x", dir.file("arc.jsonl"), "", TaskMetrics::kAcc); }),
            dir.file("arc.jsonl") + ":1:1: missing or non-string field 'query'");
}

TEST(TaskData, LambadaLastWord) {
  TempDir dir;
  write_text(dir.file("l.jsonl"), "{\"context\": \"He said hello to\", \"continuation\": \"Shane\"}\n");
  TaskData t = parse_lambada(dir.file("l.jsonl"));
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_EQ(t.metrics, TaskMetrics::kLastWord);
  EXPECT_EQ(t.items[0].choices.size(), 1u);
  EXPECT_EQ(t.items[0].choices[0].request.context, "He said hello to");
  EXPECT_EQ(t.items[0].choices[0].request.continuation, " Shane");
}

TEST(TaskData, Utf8LengthCountsCharacters) {
  EXPECT_EQ(utf8_length("caf\xc3\xa9"), 4);  // like Python's len("café")
  EXPECT_EQ(utf8_length(""), 0);
}

TEST(TaskData, SharedFilesLoadWithPublishedSizes) {
  const std::string eval_dir = lmlab::data_path("eval");
  const std::map<std::string, size_t> sizes = {{"hellaswag", 10042}, {"piqa", 1838},        {"winogrande", 1267},
                                               {"arc_easy", 2376},   {"arc_challenge", 1172}, {"openbookqa", 500},
                                               {"copa", 100},        {"boolq", 3270},        {"lambada", 5153}};
  for (const std::string& name : task_names()) {
    TaskData t = load_task(name, eval_dir);
    EXPECT_EQ(t.items.size(), sizes.at(name)) << name;
    EXPECT_EQ(load_task(name, eval_dir, 5).items.size(), 5u) << name;
  }
  TaskData boolq = load_task("boolq", eval_dir, 1);
  EXPECT_EQ(boolq.items[0].choices[0].request.continuation, " no");
  EXPECT_EQ(boolq.items[0].choices[1].request.continuation, " yes");
  EXPECT_EQ(error_of([&] { load_task("hellaswg", eval_dir); }), "unknown task 'hellaswg' (did you mean 'hellaswag'?)");
}
