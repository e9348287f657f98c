// tokenizer.json: the HF byte-level layout we write, files in HF's own layout (GPT-2 style
// ByteLevel pre-tokenizer, merges as pairs), and errors that name the offending field.
#include <gtest/gtest.h>
#include <set>

#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/tokenizer/byte_unicode.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"

namespace tk = lmlab::tokenizer;
using json = nlohmann::json;

namespace {

// A minimal HF-style file: 256 byte tokens, merges "Ġ t" -> "Ġt", "Ġt h" -> "Ġth".
json hf_file() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[tk::bytes_to_unicode(std::string(1, static_cast<char>(b)))] = b;
  vocab["Ġt"] = 256;
  vocab["Ġth"] = 257;
  vocab["<|endoftext|>"] = 258;
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", 258}, {"content", "<|endoftext|>"}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({json::array({"Ġ", "t"}), json::array({"Ġt", "h"})})}}}};
}

std::string error_of(const json& j) {
  try {
    tk::parse_tokenizer_json(j.dump(), "tok.json");
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Json, ByteMapIsGpt2s) {
  EXPECT_EQ(tk::bytes_to_unicode(" the"), "Ġthe");
  EXPECT_EQ(tk::bytes_to_unicode("\n"), "Ċ");
  for (int b = 0; b < 256; ++b) {
    std::string s(1, static_cast<char>(b));
    EXPECT_EQ(tk::unicode_to_bytes(tk::bytes_to_unicode(s)), s);
  }
  EXPECT_FALSE(tk::unicode_to_bytes("\xE4\xB8\xAD").has_value());
}

TEST(Json, ReadsHfLayout) {
  auto tok = tk::Tokenizer::from_model(tk::parse_tokenizer_json(hf_file().dump(), "tok.json"));
  EXPECT_EQ(tok.vocab_size(), 259u);
  EXPECT_EQ(tok.special_id("<|endoftext|>"), std::optional<uint32_t>(258));
  EXPECT_EQ(tok.encode(" the<|endoftext|>"), (std::vector<uint32_t>{257, 'e', 258}));
}

TEST(Json, WritesHfLayout) {
  tk::TrainOptions o;
  o.vocab_size = 300;
  o.split_digits = true;
  json j = json::parse(tk::to_tokenizer_json(tk::train({"the cat sat on the mat 123 times\n"}, o).model));
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["model"]["merges"][0], "a t");
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][0]["type"], "Split");
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][1]["type"], "Digits");
  EXPECT_EQ(j["pre_tokenizer"]["pretokenizers"][2]["use_regex"], false);
  EXPECT_EQ(j["added_tokens"][0]["content"], "<|endoftext|>");
  EXPECT_EQ(j["added_tokens"][0]["special"], true);
  EXPECT_EQ(j["model"]["vocab"]["<|endoftext|>"], j["added_tokens"][0]["id"]);
  // Only the keys HF tokenizers knows: it refuses a file with any other top-level key.
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys, (std::set<std::string>{"version", "truncation", "padding", "added_tokens", "normalizer",
                                         "pre_tokenizer", "post_processor", "decoder", "model"}));
}

TEST(Json, ScaffoldFilesKeepTheirExtension) {
  tk::TrainOptions o;
  o.vocab_size = 300;
  o.algo = "scaffold";
  // The corpus of Train.ScaffoldSelfMergeSubtractsTwice: "xyxy" ends up in S.
  const tk::Model trained = tk::train({"xyxyxyxy\nxyxyxyxy\nxyxyxyxy\nxyz\nxyz\n"}, o).model;
  ASSERT_EQ(trained.scaffold_size(), 1u);
  json j = json::parse(tk::to_tokenizer_json(trained));
  ASSERT_TRUE(j.contains("lmlab"));
  EXPECT_EQ(j["lmlab"]["algo"], "scaffold");
  tk::Model back = tk::parse_tokenizer_json(j.dump(), "tok.json");
  EXPECT_EQ(back.algo, "scaffold");
  EXPECT_EQ(back.scaffold, trained.scaffold);
}

TEST(Json, ErrorsNameTheField) {
  EXPECT_NE(error_of(json("x")).find("expected an object"), std::string::npos);
  try {
    tk::parse_tokenizer_json("{\"model\": ", "tok.json");
    FAIL();
  } catch (const lmlab::UserError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("tok.json:1:11: invalid JSON: ", 0), 0u) << e.what();
  }
  json j = hf_file();
  j["model"].erase("vocab");
  EXPECT_NE(error_of(j).find("tok.json: model.vocab: missing"), std::string::npos) << error_of(j);
  j = hf_file();
  j["model"]["merges"][1] = json::array({"Ġt", "zz"});
  EXPECT_NE(error_of(j).find("model.merges[1]: 'zz' is not in model.vocab"), std::string::npos) << error_of(j);
  j = hf_file();
  j["model"]["vocab"].erase("A");
  EXPECT_NE(error_of(j).find("model.vocab: byte 65"), std::string::npos) << error_of(j);
  j = hf_file();
  j["model"]["vocab"]["Ġt"] = "x";
  EXPECT_NE(error_of(j).find("model.vocab[\"Ġt\"]: expected a token id"), std::string::npos) << error_of(j);
  j = hf_file();
  j["normalizer"] = {{"type", "NFC"}};
  EXPECT_NE(error_of(j).find("normalizer: only null"), std::string::npos);
  j = hf_file();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  EXPECT_NE(error_of(j).find("pre_tokenizer.type: 'Whitespace' is not supported"), std::string::npos) << error_of(j);
  j = hf_file();
  j["added_tokens"][0]["id"] = 256;  // "Ġt"'s id: it would decode as the special (found by tests/fuzz)
  EXPECT_NE(error_of(j).find("added_tokens[0].id: 256 is already model.vocab's token \"Ġt\""), std::string::npos)
      << error_of(j);
  j = hf_file();
  j["lmlab"] = {{"scaffold_tokens", {65}}};
  EXPECT_NE(error_of(j).find("lmlab.scaffold_tokens[0]: not a merged token"), std::string::npos) << error_of(j);
}
