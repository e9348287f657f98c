// HC3 readers, the question-hash split, n-gram features, metrics and the vote (hc3_data.h,
// ngram.h, run_detect.h, instruct.h, lm_stats.h).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "lmlab/common/error.h"
#include "lmlab/detect/instruct.h"
#include "lmlab/detect/lm_stats.h"
#include "lmlab/detect/ngram.h"
#include "lmlab/detect/run_detect.h"
#include "testing.h"

namespace lmlab::detect {
namespace {

using test::TempDir;
using test::write_text;

std::string error_of(const std::string& path) {
  try {
    read_detect_file(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(Hc3Data, ReadsBothLayoutsKeepingTheQuestion) {
  TempDir tmp;
  const std::string f = tmp.file("mixed.jsonl");
  write_text(f,
             "{\"text\": \"a human text\", \"label\": 0}\n"
             "\n"
             "{\"question\": \"why?\", \"human_answers\": [\"because\"], \"chatgpt_answers\": [\"There are reasons.\", "
             "\"Several factors.\"], \"extra\": 1}\n"
             "{\"text\": \"written by a model\", \"label\": 1, \"question\": \"q2\"}\n");
  const auto xs = read_detect_file(f);
  ASSERT_EQ(xs.size(), 5u);
  EXPECT_EQ(xs[0].text, "a human text");
  EXPECT_EQ(xs[0].label, kHuman);
  EXPECT_EQ(xs[0].question, "");
  EXPECT_EQ(xs[1].text, "because");
  EXPECT_EQ(xs[1].label, kHuman);
  EXPECT_EQ(xs[1].question, "why?");
  EXPECT_EQ(xs[2].label, kModel);
  EXPECT_EQ(xs[3].text, "Several factors.");
  EXPECT_EQ(xs[3].question, "why?");
  EXPECT_EQ(xs[4].question, "q2");
  EXPECT_EQ(xs[4].label, kModel);
}

TEST(Hc3Data, ErrorsNameFileAndLine) {
  TempDir tmp;
  const std::string good = "{\"text\": \"ok\", \"label\": 1}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"text\": \"x\", \"label\": 2}", "'label' must be 0 (human) or 1 (model)"},
      {"{\"text\": \"x\"}", "missing key 'label'"},
      {"{\"text\": 3, \"label\": 0}", "'text' must be a string"},
      {"{\"question\": \"q\", \"human_answers\": [\"a\"]}", "missing key 'chatgpt_answers'"},
      {"{\"question\": \"q\", \"human_answers\": [1], \"chatgpt_answers\": []}", "'human_answers'[0] must be a string"},
      {"{\"answer\": \"x\"}", "expected {\"text\", \"label\"}"},
      {"[1, 2]", "expected a JSON object"},
      {"{\"text\": \"x\", ", ""},  // a syntax error: position and parser message
  };
  for (const auto& [line, problem] : cases) {
    const std::string f = tmp.file("bad.jsonl");
    write_text(f, good + "\n" + line + "\n" + good);
    const std::string err = error_of(f);
    EXPECT_EQ(err.rfind(f + ":3:", 0), 0u) << line << " -> " << err;
    EXPECT_NE(err.find(problem), std::string::npos) << line << " -> " << err;
  }
  write_text(tmp.file("empty.jsonl"), "\n\n");
  EXPECT_NE(error_of(tmp.file("empty.jsonl")).find("no examples"), std::string::npos);
}

std::vector<DetectExample> qa_pool() {
  std::vector<DetectExample> xs;
  for (int q = 0; q < 300; ++q) {
    const std::string question = "question number " + std::to_string(q);
    xs.push_back({"human answer to " + std::to_string(q), kHuman, question});
    xs.push_back({"model answer A to " + std::to_string(q), kModel, question});
    xs.push_back({"model answer B to " + std::to_string(q), kModel, question});
  }
  for (int t = 0; t < 300; ++t) xs.push_back({"a plus text " + std::to_string(t), t % 2, ""});
  return xs;
}

TEST(Hc3Split, NoQuestionOnTwoSidesAndStable) {
  const auto xs = qa_pool();
  const Split a = hash_split(xs, 0.1, 0.2, 1), b = hash_split(xs, 0.1, 0.2, 1);
  std::map<std::string, std::set<std::string>> sides;  // key -> sides it landed on
  auto record = [&](const std::vector<DetectExample>& side, const std::string& name) {
    for (const auto& ex : side) sides[ex.question.empty() ? ex.text : ex.question].insert(name);
  };
  record(a.train, "train");
  record(a.val, "val");
  record(a.test, "test");
  EXPECT_EQ(sides.size(), 600u);
  for (const auto& [key, s] : sides) EXPECT_EQ(s.size(), 1u) << key;
  EXPECT_EQ(a.train.size() + a.val.size() + a.test.size(), xs.size());
  ASSERT_EQ(a.val.size(), b.val.size());
  for (size_t i = 0; i < a.val.size(); ++i) EXPECT_EQ(a.val[i].text, b.val[i].text);
  // The fractions hold roughly on 600 keys (binomial sd ~ 0.012 for the val share).
  auto share = [&](const std::vector<DetectExample>& side) {
    std::set<std::string> keys;
    for (const auto& ex : side) keys.insert(ex.question.empty() ? ex.text : ex.question);
    return static_cast<double>(keys.size()) / 600.0;
  };
  EXPECT_NEAR(share(a.val), 0.1, 0.05);
  EXPECT_NEAR(share(a.test), 0.2, 0.06);
  // Another seed moves keys; the order of the input does not.
  const Split c = hash_split(xs, 0.1, 0.2, 2);
  EXPECT_NE(c.val.size() == a.val.size() && c.val[0].text == a.val[0].text, true);
  std::vector<DetectExample> reversed(xs.rbegin(), xs.rend());
  for (const auto& ex : hash_split(reversed, 0.1, 0.2, 1).val) EXPECT_EQ(split_of(ex, 0.1, 0.2, 1), "val");
  EXPECT_THROW(hash_split(xs, 0.5, 0.5, 1), UserError);
}

TEST(Hc3Split, HashIsPinned) {
  // FNV-1a 64 reference values: changing the hash would silently move every split.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(Hc3Split, SplitFilesKeepQuestionsAndSubsampleStably) {
  TempDir tmp;
  const std::string in = tmp.file("pool.jsonl");
  std::string text;
  for (const auto& ex : qa_pool())
    text += "{\"text\": \"" + ex.text + "\", \"label\": " + std::to_string(ex.label) +
            (ex.question.empty() ? "" : ", \"question\": \"" + ex.question + "\"") + "}\n";
  write_text(in, text);
  SplitOptions o;
  o.inputs = {in};
  o.prefix = tmp.file("out/qa");
  o.max_test = 50;
  const auto counts = split_to_files(o);
  EXPECT_EQ(counts["test"]["examples"], 50);
  const auto train = read_detect_file(o.prefix + ".train.jsonl"), test = read_detect_file(o.prefix + ".test.jsonl");
  std::set<std::string> train_q;
  for (const auto& ex : train) train_q.insert(ex.question);
  for (const auto& ex : test) {
    if (!ex.question.empty()) {
      EXPECT_EQ(train_q.count(ex.question), 0u) << ex.question;
    }
  }
  EXPECT_EQ(test::read_text(o.prefix + ".train.txt").size() > 0, true);
  split_to_files(o);  // again: the same files
  const auto again = read_detect_file(o.prefix + ".test.jsonl");
  ASSERT_EQ(again.size(), test.size());
  for (size_t i = 0; i < test.size(); ++i) EXPECT_EQ(again[i].text, test[i].text);
}

TEST(Hc3Data, Utf8PrefixKeepsWholeCharacters) {
  const std::string zh = "中文文本";  // 3 bytes per character
  EXPECT_EQ(utf8_prefix(zh, 7), "中文");
  EXPECT_EQ(utf8_prefix(zh, 6), "中文");
  EXPECT_EQ(utf8_prefix(zh, 2), "");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
}

TEST(Ngram, FeaturesAreSortedUniqueUnitNorm) {
  NgramConfig c;
  c.hash_bits = 12;
  for (const std::string t : {"The cat sat on the mat. The cat!", "人工智能生成的文本", "x"}) {
    const SparseVector x = ngram_features(t, c);
    ASSERT_FALSE(x.empty());
    double norm = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      norm += x[i].second * x[i].second;
      EXPECT_LT(x[i].first, 1u << 12);
      if (i > 0) {
        EXPECT_LT(x[i - 1].first, x[i].first);
      }
    }
    EXPECT_NEAR(norm, 1.0, 1e-5) << t;
  }
  // Case and spacing of words do not matter to word n-grams; character n-grams see the case.
  NgramConfig words_only = c;
  words_only.char_n = {};
  EXPECT_EQ(ngram_features("Hello  World", words_only), ngram_features("hello world", words_only));
}

TEST(Ngram, SeparableToySetIsLearnedExactly) {
  std::vector<DetectExample> train;
  for (int i = 0; i < 60; ++i) {
    train.push_back({"the quick brown fox " + std::to_string(i) + " jumps over", kHuman, ""});
    train.push_back({"certainly here is an answer " + std::to_string(i) + " overall", kModel, ""});
  }
  NgramConfig c;
  c.hash_bits = 14;
  const NgramModel m = train_ngram(train, c, 1);
  std::vector<double> p;
  for (const auto& ex : train) p.push_back(m.prob(ex.text));
  const auto metrics = detection_metrics(p, train);
  EXPECT_EQ(metrics["acc"], 1.0);
  EXPECT_EQ(metrics["f1_model"], 1.0);
  EXPECT_EQ(metrics["auroc"], 1.0);
  EXPECT_GT(m.prob("certainly here is an answer 1000 overall"), 0.5);
  EXPECT_LT(m.prob("the quick brown fox 1000 jumps over"), 0.5);
}

TEST(DetectionMetrics, HandCase) {
  // labels h h m m m; P(model) .2 .6 .7 .4 .5 -> decisions h m m h m (0.5 counts as model)
  std::vector<DetectExample> xs = {{"a", 0, ""}, {"b", 0, ""}, {"c", 1, ""}, {"d", 1, ""}, {"e", 1, ""}};
  const auto m = detection_metrics({0.2, 0.6, 0.7, 0.4, 0.5}, xs);
  EXPECT_EQ(m["confusion"], nlohmann::json({{1, 1}, {1, 2}}));
  EXPECT_DOUBLE_EQ(m["acc"].get<double>(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(m["f1_model"].get<double>(), 2.0 * 2 / (2 * 2 + 1 + 1));
  // AUROC: pairs (model > human): .7>.2 .7>.6 .4>.2 .5>.2 = 4 of 6.
  EXPECT_DOUBLE_EQ(m["auroc"].get<double>(), 4.0 / 6);
}

TEST(LmStats, ThresholdFindsTheDirectionAndSeparates) {
  // Model texts have the lower statistic here (as log-rank): the sign must come out -1.
  const std::vector<double> s = {5.0, 4.0, 4.5, 1.0, 2.0, 1.5};
  const std::vector<int> y = {0, 0, 0, 1, 1, 1};
  const Threshold t = best_threshold(s, y);
  EXPECT_EQ(t.sign, -1);
  EXPECT_DOUBLE_EQ(t.val_acc, 1.0);
  EXPECT_GT(t.threshold, 2.0);
  EXPECT_LT(t.threshold, 4.0);
  const Threshold up = best_threshold({1, 2, 3, 4}, {0, 0, 1, 1});
  EXPECT_EQ(up.sign, 1);
  EXPECT_DOUBLE_EQ(up.threshold, 2.5);
}

TEST(Instruct, MajorityVoteTieIsModel) {
  EXPECT_EQ(majority_vote({kModel, kHuman}), kModel);  // tie
  EXPECT_EQ(majority_vote({kHuman, kHuman, kModel}), kHuman);
  EXPECT_EQ(majority_vote({kModel, kModel, kHuman}), kModel);
  EXPECT_EQ(majority_vote({kHuman}), kHuman);
  EXPECT_EQ(majority_vote({kModel, kHuman, kModel, kHuman}), kModel);  // tie of 4
  EXPECT_EQ(majority_vote({kHuman, kHuman, kHuman, kModel, kModel}), kHuman);
  // The vote's P(model) is the share of templates voting model: 1/2 decides model too.
  EXPECT_EQ(decide(0.5), kModel);
  EXPECT_EQ(decide(0.4999), kHuman);
}

TEST(Instruct, ShippedTemplatesAndPrompt) {
  for (const auto& [lang, n] : std::vector<std::pair<std::string, size_t>>{{"en", 8}, {"zh", 5}}) {
    const auto ts = read_templates(std::string(LMLAB_SOURCE_DIR) + "/configs/hc3/templates/" + lang + ".jsonl");
    ASSERT_EQ(ts.size(), n) << lang;
    for (const auto& t : ts) EXPECT_EQ(t.examples.size(), 2u) << lang;
  }
  InstructTemplate t{"Say who wrote it.", {{"one", "human"}, {"two", "model"}}};
  const auto in = instruct_example(t, {"中文文本", kModel, ""}, 7);
  EXPECT_EQ(in.input, "中文");
  EXPECT_EQ(in.output, "model");
  EXPECT_NE(in.instruction.find("Definition: Say who wrote it."), std::string::npos);
  EXPECT_NE(in.instruction.find("Input: two\nOutput: model"), std::string::npos);
  EXPECT_LT(template_of("some text", 8), 8u);
  TempDir tmp;
  write_text(tmp.file("t.jsonl"), "{\"definition\": \"d\", \"examples\": [{\"input\": \"x\", \"output\": \"human\"}]}\n"
                                  "{\"definition\": \"d\", \"examples\": [{\"input\": \"x\", \"output\": \"robot\"}]}\n");
  try {
    read_templates(tmp.file("t.jsonl"));
    FAIL() << "a bad output word must fail";
  } catch (const UserError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(tmp.file("t.jsonl") + ":2:", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace lmlab::detect
