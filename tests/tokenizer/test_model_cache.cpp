// The tokenizer.json cache (model_cache.h): a cached load equals the parse field by field; a
// damaged, foreign or other-version entry, an unwritable directory, an edited file and a
// disabled cache all give the parse's model and ids; a bad file is never cached and keeps its
// message; the directory follows LMLAB_CACHE_DIR, XDG_CACHE_HOME and HOME.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/tokenizer/model_cache.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "model_equal.h"
#include "testing.h"

namespace tk = lmlab::tokenizer;
using lmlab::test::expect_same_model;
using lmlab::test::read_text;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const std::string& corpus() {
  static const std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt")).substr(0, 300000);
  return text;
}

std::string trained_json(const std::string& algo, const std::string& pretokenizer, bool split_digits,
                         std::vector<std::string> specials, bool ignore_merges) {
  tk::TrainOptions o;
  o.algo = algo;
  o.vocab_size = 700;
  o.pretokenizer = pretokenizer;
  o.split_digits = split_digits;
  o.specials = std::move(specials);
  tk::Model m = tk::train({corpus()}, o).model;
  m.ignore_merges = ignore_merges;
  if (algo == "scaffold") {
    EXPECT_GT(m.scaffold_size(), 0u) << "the test needs scaffold tokens";
  }
  return tk::to_tokenizer_json(m);
}

// The kinds of file the cache must reproduce exactly.
const std::vector<std::string>& jsons() {
  static const std::vector<std::string> all = {
      trained_json("bpe", "gpt2", false, {"<|endoftext|>"}, false),
      trained_json("scaffold", "gpt4", true, {"<|endoftext|>", "<|pad|>"}, false),
      trained_json("bpe", "gpt4", false, {"<|endoftext|>", "<s>", "</s>"}, true),
      trained_json("bpe", "gpt2", true, {}, false),
  };
  return all;
}

const std::string kSample = "Hello <|endoftext|> w\xC3\xB6rld 12345 \xFF\xFE the station's <s>end</s>\n";

size_t entries(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != decltype(it)(); ++it)
    n += it->is_regular_file();
  return n;
}

}  // namespace

TEST(ModelCache, CachedLoadEqualsParse) {
  TempDir cache, dir;
  ScopedEnv env("LMLAB_CACHE_DIR", cache.path().c_str());
  for (size_t k = 0; k < jsons().size(); ++k) {
    SCOPED_TRACE(k);
    const std::string path = dir.file("tok" + std::to_string(k) + ".json");
    write_text(path, jsons()[k]);
    const tk::Model parsed = tk::parse_tokenizer_json(jsons()[k], path);
    const std::string file = tk::model_cache_file(jsons()[k]);
    ASSERT_EQ(file.rfind(cache.path() + "/tokenizers/", 0), 0u) << file;
    EXPECT_FALSE(lmlab::file_exists(file));
    expect_same_model(tk::load_model(path), parsed);  // a miss: parsed, then written
    std::optional<tk::Model> cached = tk::read_model_cache(file, jsons()[k]);
    ASSERT_TRUE(cached.has_value());
    expect_same_model(*cached, parsed);
    expect_same_model(tk::load_model(path), parsed);  // a hit
    EXPECT_EQ(tk::Tokenizer::load(path).encode(kSample), tk::Tokenizer::from_model(parsed).encode(kSample));
  }
  EXPECT_EQ(entries(cache.path()), jsons().size());
}

TEST(ModelCache, DamagedEntriesFallBackAndAreReplaced) {
  TempDir cache, dir;
  ScopedEnv env("LMLAB_CACHE_DIR", cache.path().c_str());
  const std::string& json = jsons()[1];  // Scaffold-BPE: every section of an entry is non-empty
  const std::string path = dir.file("tok.json");
  write_text(path, json);
  const tk::Model parsed = tk::parse_tokenizer_json(json, path);
  const std::vector<uint32_t> ids = tk::Tokenizer::from_model(parsed).encode(kSample);
  const std::string file = tk::model_cache_file(json);
  tk::load_model(path);
  const std::string good = read_text(file);
  ASSERT_GT(good.size(), 1000u);
  write_text(dir.file("other.json"), jsons()[0]);
  tk::load_model(dir.file("other.json"));
  std::string flipped = good, version = good, key = good;
  flipped[good.size() - 5] ^= 1;
  version[8] = static_cast<char>(version[8] + 1);  // the format version, after the 8-byte magic
  key[30] ^= 1;                                    // the JSON's hash (bytes 24-39)
  const std::vector<std::pair<std::string, std::string>> damaged = {
      {"truncated", good.substr(0, good.size() / 2)}, {"header only", good.substr(0, 40)},
      {"a flipped payload byte", flipped},         {"another format version", version},
      {"another key", key},                         {"foreign", "not a cache entry\n"},
      {"empty", ""},                                {"another tokenizer's entry", read_text(tk::model_cache_file(jsons()[0]))},
  };
  for (const auto& [what, bytes] : damaged) {
    SCOPED_TRACE(what);
    write_text(file, bytes);
    EXPECT_FALSE(tk::read_model_cache(file, json).has_value());
    expect_same_model(tk::load_model(path), parsed);
    EXPECT_EQ(read_text(file), good);  // rewritten by the load
    write_text(file, bytes);
    EXPECT_EQ(tk::Tokenizer::load(path).encode(kSample), ids);
  }
}

TEST(ModelCache, UnwritableDirectoryStillLoads) {
  TempDir dir;
  write_text(dir.file("plain-file"), "x");
  // A directory that cannot be made (its parent is a file): every write fails. (Permissions
  // would not stop root, whom the tests may run as.)
  ScopedEnv env("LMLAB_CACHE_DIR", dir.file("plain-file").c_str());
  const std::string path = dir.file("tok.json");
  write_text(path, jsons()[0]);
  const tk::Model parsed = tk::parse_tokenizer_json(jsons()[0], path);
  expect_same_model(tk::load_model(path), parsed);
  expect_same_model(tk::load_model(path), parsed);
  EXPECT_FALSE(tk::write_model_cache(tk::model_cache_file(jsons()[0]), jsons()[0], parsed));
  EXPECT_EQ(read_text(dir.file("plain-file")), "x");
}

TEST(ModelCache, FileEditedInPlaceGetsItsOwnEntry) {
  TempDir cache, dir;
  ScopedEnv env("LMLAB_CACHE_DIR", cache.path().c_str());
  const std::string before = jsons()[0];
  std::string after = before;
  const size_t at = after.find("\"ignore_merges\": false");
  ASSERT_NE(at, std::string::npos);
  after.replace(at, 22, "\"ignore_merges\": true ");  // the same size, another model
  ASSERT_EQ(after.size(), before.size());
  const std::string path = dir.file("tok.json");
  write_text(path, before);
  EXPECT_FALSE(tk::load_model(path).ignore_merges);
  write_text(path, after);
  EXPECT_TRUE(tk::load_model(path).ignore_merges);
  EXPECT_TRUE(tk::load_model(path).ignore_merges);
  EXPECT_NE(tk::model_cache_file(before), tk::model_cache_file(after));
  EXPECT_TRUE(tk::read_model_cache(tk::model_cache_file(after), after).has_value());
  EXPECT_EQ(entries(cache.path()), 2u);
  write_text(dir.file("copy.json"), after);  // a copy hits the same entry
  EXPECT_TRUE(tk::load_model(dir.file("copy.json")).ignore_merges);
  EXPECT_EQ(entries(cache.path()), 2u);
}

TEST(ModelCache, BadFileIsNotCachedAndKeepsItsMessage) {
  TempDir cache, dir;
  ScopedEnv env("LMLAB_CACHE_DIR", cache.path().c_str());
  std::string unknown_part = jsons()[0];
  const size_t at = unknown_part.find("\"merges\": [\n");
  ASSERT_NE(at, std::string::npos);
  unknown_part.insert(at + 12, "      \"zzz\\u0100 q\",\n");
  for (const std::string& bad : {std::string("{\"model\": {\"vocab\": ["), unknown_part}) {
    const std::string path = dir.file("bad.json");
    write_text(path, bad);
    std::string expected, got;
    try {
      tk::parse_tokenizer_json(bad, path);
    } catch (const lmlab::UserError& e) {
      expected = e.what();
    }
    ASSERT_FALSE(expected.empty());
    for (int twice = 0; twice < 2; ++twice) {
      try {
        tk::load_model(path);
      } catch (const lmlab::UserError& e) {
        got = e.what();
      }
      EXPECT_EQ(got, expected);
    }
  }
  EXPECT_EQ(entries(cache.path()), 0u);
}

TEST(ModelCache, DisabledOrNoDirectoryWritesNothing) {
  TempDir cache, dir;
  ScopedEnv env("LMLAB_CACHE_DIR", cache.path().c_str());
  const std::string path = dir.file("tok.json");
  write_text(path, jsons()[0]);
  {
    ScopedEnv off("LMLAB_TOKENIZER_CACHE", "0");
    EXPECT_EQ(tk::model_cache_file(jsons()[0]), "");
    tk::load_model(path);
    EXPECT_EQ(entries(cache.path()), 0u);
  }
  ScopedEnv no_dir("LMLAB_CACHE_DIR", nullptr), no_xdg("XDG_CACHE_HOME", nullptr), no_home("HOME", nullptr);
  EXPECT_EQ(tk::model_cache_file(jsons()[0]), "");
  expect_same_model(tk::load_model(path), tk::parse_tokenizer_json(jsons()[0], path));
}

TEST(ModelCache, DirectoryFollowsTheEnvironment) {
  ScopedEnv no_dir("LMLAB_CACHE_DIR", nullptr);
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(tk::model_cache_file("{}").rfind("/xdg/lmlab/tokenizers/", 0), 0u);
  }
  ScopedEnv relative("XDG_CACHE_HOME", "relative/dir");  // the XDG spec: ignored
  EXPECT_EQ(tk::model_cache_file("{}").rfind("/home/someone/.cache/lmlab/tokenizers/", 0), 0u);
  ScopedEnv dir("LMLAB_CACHE_DIR", "/c");
  EXPECT_EQ(tk::model_cache_file("{}").rfind("/c/tokenizers/", 0), 0u);
  EXPECT_NE(tk::model_cache_file("{}"), tk::model_cache_file("{ }"));
}
