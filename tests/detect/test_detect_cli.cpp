// `lmlab detect` end to end on toy data: the n-gram detector learns a separable set exactly,
// `predict` gives eval's per-example decisions (JSONL and plain-text input), bad input exits 2
// with the file and line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testing.h"

namespace lmlab::test {
namespace {

std::string toy_jsonl(int n, int offset) {
  std::string out;
  for (int i = offset; i < offset + n; ++i) {
    out += "{\"text\": \"well i guess my cat " + std::to_string(i) + " did that lol\", \"label\": 0}\n";
    out += "{\"question\": \"q" + std::to_string(i) + "\", \"human_answers\": [\"no clue tbh " + std::to_string(i) +
           "\"], \"chatgpt_answers\": [\"It is important to note that " + std::to_string(i) + " varies.\"]}\n";
  }
  return out;
}

class DetectCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(tmp_.file("train.jsonl"), toy_jsonl(40, 0));
    write_text(tmp_.file("test.jsonl"), toy_jsonl(10, 1000));
    const RunResult r = run_lmlab("detect train --set detect.detector=ngram --set detect.out_dir=" + dir() +
                                  " --set 'detect.train_files=[\"" + tmp_.file("train.jsonl") + "\"]'" +
                                  " --set detect.ngram.hash_bits=14");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string dir() const { return tmp_.file("det"); }
  TempDir tmp_;
};

TEST_F(DetectCli, SeparableToySetReachesFullAccuracy) {
  const RunResult r = run_lmlab("detect eval --checkpoint " + dir() + " --data " + tmp_.file("test.jsonl") +
                                " --output " + tmp_.file("eval.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text(tmp_.file("eval.json")));
  const auto& m = j["files"]["test.jsonl"];
  EXPECT_EQ(m["records"], 30);
  EXPECT_EQ(m["acc"], 1.0);
  EXPECT_EQ(m["f1_model"], 1.0);
  EXPECT_EQ(m["confusion"], nlohmann::json({{20, 0}, {0, 10}}));
  EXPECT_NE(r.out.find("test.jsonl"), std::string::npos);
}

TEST_F(DetectCli, PredictEqualsEvalDecisions) {
  const RunResult e = run_lmlab("detect eval --checkpoint " + dir() + " --data " + tmp_.file("test.jsonl") +
                                " --decisions " + tmp_.file("decisions.tsv"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const std::string decisions = read_text(tmp_.file("decisions.tsv"));
  const RunResult p = run_lmlab("detect predict --checkpoint " + dir() + " --input " + tmp_.file("test.jsonl"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(p.out, decisions);
  // The same texts as plain lines on stdin give the same lines.
  std::string lines;
  for (int i = 1000; i < 1010; ++i) {
    lines += "well i guess my cat " + std::to_string(i) + " did that lol\n";
    lines += "no clue tbh " + std::to_string(i) + "\n";
    lines += "It is important to note that " + std::to_string(i) + " varies.\n";
  }
  const RunResult s = run_lmlab("detect predict --checkpoint " + dir(), lines);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, decisions);
  EXPECT_EQ(s.out.substr(0, 6), "human\t");
}

TEST_F(DetectCli, BadInputIsOneErrorLineWithFileAndLine) {
  write_text(tmp_.file("bad.jsonl"), "{\"text\": \"fine\", \"label\": 0}\n{\"text\": \"x\", \"label\": \"model\"}\n");
  const RunResult r = run_lmlab("detect eval --checkpoint " + dir() + " --data " + tmp_.file("bad.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(tmp_.file("bad.jsonl") + ":2: 'label' must be 0 (human) or 1 (model)"), std::string::npos) << r.err;
  const RunResult p = run_lmlab("detect predict --checkpoint " + dir() + " --format jsonl", "{\"text\": 1}\n");
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("<stdin>:1:"), std::string::npos) << p.err;
  const RunResult k = run_lmlab("detect eval --checkpoint " + tmp_.file("nowhere") + " --data " + tmp_.file("test.jsonl"));
  EXPECT_EQ(k.exit_code, 2);
  EXPECT_NE(k.err.find("detector.json"), std::string::npos) << k.err;
  const RunResult c = run_lmlab("detect train --set detect.detector=ngrams");
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("ngram"), std::string::npos) << c.err;
}

}  // namespace
}  // namespace lmlab::test
