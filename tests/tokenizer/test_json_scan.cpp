// The fast reading of model.vocab and model.merges (tokenizer_json_scan.h) must give exactly the
// model the full nlohmann reading gives, take the fast path on the files lmlab and HF write, and
// leave every other file (and every error message) to the full reading.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "lmlab/common/error.h"
#include "lmlab/common/limits.h"
#include "lmlab/tokenizer/byte_unicode.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/tokenizer_json_scan.h"
#include "lmlab/tokenizer/trainer.h"
#include "model_equal.h"

namespace tk = lmlab::tokenizer;
using lmlab::test::expect_same_model;
using json = nlohmann::json;

namespace {

const uint64_t kMaxId = static_cast<uint64_t>(lmlab::kMaxVocabSize);

// The same file for the full parser but not for the scanner, which refuses escaped keys:
// "mod\u0065l" is "model" once unescaped.
std::string full_reading_only(std::string text) {
  const size_t at = text.find("\"model\"");
  EXPECT_NE(at, std::string::npos);
  return text.replace(at, 7, "\"mod\\u0065l\"");
}

std::string error_of(const std::string& text) {
  try {
    tk::parse_tokenizer_json(text, "tok.json");
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "";
}

// A trained tokenizer whose tokens include '"' and '\' (escaped in JSON) and non-ASCII bytes.
std::string trained_file(const std::string& algo) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "say \"quoted\" and C:\\path\\to, caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 " + std::to_string(i) + "\n";
  tk::TrainOptions opt;
  opt.algo = algo;
  opt.vocab_size = 300;
  opt.threads = 1;
  return tk::to_tokenizer_json(tk::train({text}, opt).model);
}

}  // namespace

TEST(JsonScan, TrainedFilesTakeTheFastPathAndReadAsTheFullParserReadsThem) {
  for (const char* algo : {"bpe", "scaffold"}) {
    const std::string text = trained_file(algo);
    auto large = tk::split_large_fields(text, kMaxId);
    ASSERT_TRUE(large.has_value()) << algo;
    const json whole = json::parse(text);
    EXPECT_EQ(large->vocab.size(), whole["model"]["vocab"].size());
    EXPECT_EQ(large->merges.size(), whole["model"]["merges"].size());
    EXPECT_FALSE(large->unescaped.empty()) << "the corpus has tokens with escapes";
    json rest = json::parse(large->rest);
    EXPECT_TRUE(rest["model"]["vocab"].empty());
    EXPECT_EQ(rest["version"], whole["version"]);
    ASSERT_FALSE(tk::split_large_fields(full_reading_only(text), kMaxId).has_value());
    expect_same_model(tk::parse_tokenizer_json(text, "a.json"), tk::parse_tokenizer_json(full_reading_only(text), "b.json"));
  }
}

// HF's own layout: merges as [left, right] pairs, vocab after merges, \u escapes, other spacing.
TEST(JsonScan, PairMergesEscapesAndFieldOrder) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tk::bytes_to_unicode(std::string(1, static_cast<char>(b)))] = b;
  vocab["Ġt"] = 256;
  vocab["Ġth"] = 257;
  json model = {{"merges", json::array({json::array({"Ġ", "t"}), json::array({"Ġt", "h"})})}, {"type", "BPE"}, {"vocab", vocab}};
  json file = {{"model", model}, {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}};
  std::string text = file.dump(1, '\t', true);  // ensure_ascii: "\u0120t"
  ASSERT_NE(text.find("\\u0120"), std::string::npos);
  auto large = tk::split_large_fields(text, kMaxId);
  ASSERT_TRUE(large.has_value());
  EXPECT_EQ(large->merges[1], (std::pair<std::string_view, std::string_view>{"Ġt", "h"}));
  expect_same_model(tk::parse_tokenizer_json(text, "a.json"), tk::parse_tokenizer_json(full_reading_only(text), "b.json"));
}

// Outside the scanner's subset: nullopt, so the full parser decides (and names the problem).
TEST(JsonScan, RefusesWhatItDoesNotReadExactly) {
  const std::string ok = R"({"model": {"vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})";
  ASSERT_TRUE(tk::split_large_fields(ok, kMaxId).has_value());
  for (const char* text : {
           R"({"model": {"vocab": {"a": 0.0}, "merges": []}})",          // not an integer
           R"({"model": {"vocab": {"a": -1}, "merges": []}})",
           R"({"model": {"vocab": {"a": 01}, "merges": []}})",           // not JSON
           R"({"model": {"vocab": {"a": 1e2}, "merges": []}})",
           R"({"model": {"vocab": {"a": 16777216}, "merges": []}})",     // kMaxVocabSize
           R"({"model": {"vocab": {"a": 0}, "merges": ["a  b"]}})",       // two spaces
           R"({"model": {"vocab": {"a": 0}, "merges": [["a", "b", "c"]]}})",
           R"({"model": {"vocab": {"\ud83d\ude00": 0}, "merges": []}})", // surrogates
           R"({"model": {"vocab": {"a": 0}, "vocab": {}, "merges": []}})",
           R"({"model": {"vocab": {"a": 0}}})",                           // no merges
           R"({"model": {"vocab": {"a": 0}, "merges": []}} x)",
           "{\"model\": {\"vocab\": {\"a\tb\": 0}, \"merges\": []}}",   // raw control character
       })
    EXPECT_FALSE(tk::split_large_fields(text, kMaxId).has_value()) << text;
}

// Errors read the same through either path: the fast path hands a failing file to the full one.
TEST(JsonScan, ErrorsAreTheFullParsersOwn) {
  json file = json::parse(trained_file("bpe"));
  auto merges = file["model"]["merges"];
  file["model"]["merges"].push_back("zz q");
  const std::string unknown = file.dump();
  ASSERT_TRUE(tk::split_large_fields(unknown, kMaxId).has_value());
  EXPECT_EQ(error_of(unknown), error_of(full_reading_only(unknown)));
  EXPECT_NE(error_of(unknown).find("model.merges[" + std::to_string(merges.size()) + "]: 'zz' is not in model.vocab"),
            std::string::npos) << error_of(unknown);

  // A key twice: the DOM keeps the last; the scanner sees both, and lets the DOM decide.
  std::string twice = R"({"model": {"vocab": {"Ā": 0, "Ā": 1}, "merges": []}})";
  EXPECT_EQ(error_of(twice), error_of(full_reading_only(twice)));
  EXPECT_FALSE(error_of(twice).empty());
}

// Differential: single-byte mutants of the vocab and merges of a trained file load to the same
// model, or are refused, whichever path reads them (positions in messages differ by the 5 bytes
// full_reading_only adds, so only refusal itself is compared).
TEST(JsonScan, MutantsReadAsTheFullParserReadsThem) {
  const std::string text = trained_file("scaffold");
  const size_t from = text.find("\"vocab\"");
  ASSERT_NE(from, std::string::npos);
  const std::string alphabet = "\"\\,:{}[] 09au\t\x01\xC4\x80";
  uint64_t state = 12345;
  auto next = [&] { return (state = state * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  int fast = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string mutant = text;
    const size_t at = from + 8 + next() % (text.size() - from - 8);
    switch (next() % 3) {
      case 0: mutant[at] = alphabet[next() % alphabet.size()]; break;
      case 1: mutant.erase(at, 1); break;
      default: mutant.insert(at, 1, alphabet[next() % alphabet.size()]);
    }
    fast += tk::split_large_fields(mutant, kMaxId).has_value();
    std::optional<tk::Model> a, b;
    try { a = tk::parse_tokenizer_json(mutant, "a.json"); } catch (const lmlab::UserError&) {}
    try { b = tk::parse_tokenizer_json(full_reading_only(mutant), "b.json"); } catch (const lmlab::UserError&) {}
    ASSERT_EQ(a.has_value(), b.has_value()) << "mutant " << i << " at byte " << at;
    if (a) expect_same_model(*a, *b);
  }
  EXPECT_GT(fast, 100) << "most mutants should still take the fast path";
}
