// `lmlab data prepare` on one file holding many documents: the shards are the same bytes for any
// --threads, they equal every document encoded on its own and followed by <|endoftext|> (so the
// validation split is the last whole documents, none cut), and a file with one document is
// refused with one clear line.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmlab/data/documents.h"
#include "lmlab/data/shards.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "testing.h"

using lmlab::test::read_text;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

const std::vector<std::string> kWords = {"the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "park", "@-@", ","};

// A WikiText-like file: `n` articles " = Title k = " with sections and paragraphs of varied
// length (article 7 is ~150x the others, so it goes to the tokenizer's parallel encoder).
std::string wiki_text(int n, std::vector<std::string>& articles) {
  std::string text;
  uint32_t state = 12345;
  auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) % 1000; };
  for (int k = 0; k < n; ++k) {
    std::string a = "= Title " + std::to_string(k) + " = \n \n";
    int paragraphs = k == 7 ? 2500 : 2 + static_cast<int>(next() % 30);
    for (int p = 0; p < paragraphs; ++p) {
      if (p % 4 == 3) a += " = = Section " + std::to_string(p) + " = = \n \n";
      int words = 5 + static_cast<int>(next() % 60);
      for (int w = 0; w < words; ++w) a += " " + kWords[next() % kWords.size()];
      a += " " + std::to_string(next()) + " . \n \n";
    }
    while (a.back() == '\n' || a.back() == ' ') a.pop_back();
    text += " \n " + a + " \n \n";
    articles.push_back(a);
  }
  return text;
}

struct Fixture {
  TempDir dir;
  std::vector<std::string> articles;
  Fixture() {
    write_text(dir.file("wiki.txt"), wiki_text(150, articles));
    auto r = run_lmlab("tokenizer train --algo bpe --vocab-size 300 --input " + dir.file("wiki.txt") + " --output " +
                       dir.file("tok.json"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  std::string prepare(const std::string& input, const std::string& out, const std::string& args) const {
    auto r = run_lmlab("data prepare --tokenizer " + dir.file("tok.json") + " --input " + input + " --output " +
                       dir.file(out) + " " + args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  nlohmann::json meta(const std::string& out) const {
    return nlohmann::json::parse(read_text(dir.file(out + "/meta.json")));
  }
  // The ids of the documents [begin, end), each encoded alone and followed by <|endoftext|>.
  std::vector<uint32_t> expected(const std::vector<std::string>& docs, size_t begin, size_t end) const {
    auto tok = lmlab::tokenizer::Tokenizer::load(dir.file("tok.json"));
    std::vector<uint32_t> ids;
    for (size_t i = begin; i < end; ++i) {
      std::vector<uint32_t> d = tok.encode(docs[i]);
      ids.insert(ids.end(), d.begin(), d.end());
      ids.push_back(*tok.special_id("<|endoftext|>"));
    }
    return ids;
  }
};

std::vector<uint32_t> shard_ids(const std::string& path) {
  lmlab::data::TokenShard s(path);
  std::vector<uint32_t> ids;
  for (int64_t i = 0; i < s.size(); ++i) ids.push_back(s.at(i));
  return ids;
}

}  // namespace

TEST(DataPrepareOneFile, ShardsAreTheSameForAnyThreadCount) {
  Fixture f;
  for (int threads : {1, 2, 3})
    f.prepare(f.dir.file("wiki.txt"), "t" + std::to_string(threads), "--threads " + std::to_string(threads));
  for (const char* shard : {"/train.bin", "/val.bin"}) {
    const std::string one = read_text(f.dir.file("t1") + shard);
    ASSERT_GT(one.size(), 1000u);
    EXPECT_EQ(read_text(f.dir.file("t2") + shard), one) << shard;
    EXPECT_EQ(read_text(f.dir.file("t3") + shard), one) << shard;
  }
  EXPECT_EQ(read_text(f.dir.file("t3/meta.json")), read_text(f.dir.file("t1/meta.json")));
}

TEST(DataPrepareOneFile, ValidationIsTheLastWholeArticles) {
  Fixture f;
  const std::string out = f.prepare(f.dir.file("wiki.txt"), "d", "--threads 2 --val-fraction 0.05");
  nlohmann::json meta = f.meta("d");
  EXPECT_EQ(meta["doc_split"]["inputs"], nlohmann::json({"heading"}));
  EXPECT_EQ(meta["train"]["documents"], 142);  // ceil(0.05 * 150) = 8 held out
  EXPECT_EQ(meta["val"]["documents"], 8);
  EXPECT_NE(out.find("documents split by heading"), std::string::npos) << out;
  EXPECT_EQ(shard_ids(f.dir.file("d/train.bin")), f.expected(f.articles, 0, 142));
  EXPECT_EQ(shard_ids(f.dir.file("d/val.bin")), f.expected(f.articles, 142, 150));
}

TEST(DataPrepareOneFile, BlankLineRuleHoldsOutWholeParagraphs) {
  Fixture f;
  std::string text;
  std::vector<std::string> paragraphs;
  for (int i = 0; i < 40; ++i) {
    paragraphs.push_back("paragraph " + std::to_string(i) + " line one\nthe cat sat " + std::to_string(i * 7));
    text += paragraphs.back() + "\n\n" + (i % 3 ? "" : " \n");
  }
  write_text(f.dir.file("para.txt"), text);
  f.prepare(f.dir.file("para.txt"), "p", "--val-fraction 0.1 --threads 3");
  EXPECT_EQ(f.meta("p")["doc_split"]["inputs"], nlohmann::json({"blank"}));
  EXPECT_EQ(shard_ids(f.dir.file("p/train.bin")), f.expected(paragraphs, 0, 36));
  EXPECT_EQ(shard_ids(f.dir.file("p/val.bin")), f.expected(paragraphs, 36, 40));
}

TEST(DataPrepareOneFile, LineRuleKeepsWorking) {
  Fixture f;
  std::vector<std::string> lines;
  std::string text;
  for (int i = 0; i < 30; ++i) {
    lines.push_back("line " + std::to_string(i) + " the dog ran");
    text += lines.back() + (i % 5 ? "\n" : "\n \n");
  }
  write_text(f.dir.file("lines.txt"), text);
  f.prepare(f.dir.file("lines.txt"), "l", "--doc-split line --val-fraction 0.1 --threads 2");
  EXPECT_EQ(f.meta("l")["train"]["documents"], 27);
  EXPECT_EQ(shard_ids(f.dir.file("l/train.bin")), f.expected(lines, 0, 27));
  EXPECT_EQ(shard_ids(f.dir.file("l/val.bin")), f.expected(lines, 27, 30));
}

TEST(DataPrepareOneFile, OneWholeFileUsesEveryThreadAndGivesTheSerialIds) {
  Fixture f;
  const std::string text = read_text(f.dir.file("wiki.txt"));
  f.prepare(f.dir.file("wiki.txt"), "f1", "--doc-split file --val-input " + f.dir.file("wiki.txt") + " --threads 1");
  f.prepare(f.dir.file("wiki.txt"), "f3", "--doc-split file --val-input " + f.dir.file("wiki.txt") + " --threads 3");
  EXPECT_EQ(read_text(f.dir.file("f3/train.bin")), read_text(f.dir.file("f1/train.bin")));
  EXPECT_EQ(shard_ids(f.dir.file("f3/train.bin")), f.expected({text}, 0, 1));
}

TEST(DataPrepareOneFile, OneDocumentIsRefusedWithOneLine) {
  Fixture f;
  write_text(f.dir.file("one.txt"), "a single paragraph\nwith two lines and no marker\n");
  auto r = run_lmlab("data prepare --tokenizer " + f.dir.file("tok.json") + " --input " + f.dir.file("one.txt") +
                     " --output " + f.dir.file("x"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("1 document(s) are too few to hold out a validation split (--doc-split auto read " +
                       f.dir.file("one.txt") + " as one document"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(f.dir.file("x/train.bin")));
}
