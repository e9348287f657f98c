// The JSON files of `lmlab export hf` that AutoTokenizer / AutoModelForCausalLM / generate()
// read: each file's keys against a fixed set, and the special ids taken from the tokenizer
// (null where it has none).
#include <gtest/gtest.h>

#include <set>

#include "lmlab/common/files.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/model/transformer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "hf_fixture.h"
#include "testing.h"

using namespace lmlab;
using test::keys_of;
using test::read_json;

namespace {

// A small byte-level BPE with the given specials, written as tokenizer.json under `dir`.
std::string write_tokenizer(const test::TempDir& dir, const std::vector<std::string>& specials) {
  tokenizer::TrainOptions o;
  o.vocab_size = 260 + static_cast<uint32_t>(specials.size());
  o.specials = specials;
  tokenizer::TrainResult r = tokenizer::train({"the cat sat on the mat. the cat ate the rat."}, o);
  const std::string path = dir.file("tokenizer.json");
  test::write_text(path, tokenizer::to_tokenizer_json(r.model));
  return path;
}

ModelConfig tiny_llama(int64_t vocab) {
  ModelConfig c;
  c.n_layer = 1;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = vocab;
  c.max_seq_len = 24;
  c.ffn.hidden = 32;
  return c;
}

// Exports a fresh tiny model with a tokenizer of these specials into dir/out.
std::string export_with(const test::TempDir& dir, const std::vector<std::string>& specials) {
  const std::string tok = write_tokenizer(dir, specials);
  ModelConfig cfg = tiny_llama(tokenizer::Tokenizer::load(tok).vocab_size());
  model::Transformer m(cfg);
  model::NamedTensors ours;
  for (const auto& p : m->named_parameters()) ours.emplace_back(p.key(), p.value());
  const std::string out = dir.file("out");
  make_dirs(out);
  eval::write_hf_export(out, cfg, ours, tok);
  return out;
}

}  // namespace

TEST(HfFiles, EachFileHasExactlyTheExpectedKeys) {
  test::TempDir dir;
  const std::string out = export_with(dir, {"<|endoftext|>"});
  const std::set<std::string> config_keys = {
      "architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
      "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps", "rope_theta",
      "max_position_embeddings", "vocab_size", "tie_word_embeddings", "attention_bias", "mlp_bias",
      "attention_dropout", "initializer_range", "torch_dtype", "use_cache", "bos_token_id", "eos_token_id",
      "pad_token_id"};
  const std::set<std::string> generation_keys = {"bos_token_id", "eos_token_id", "pad_token_id", "do_sample"};
  const std::set<std::string> tokenizer_keys = {
      "tokenizer_class", "bos_token", "eos_token", "pad_token", "unk_token", "add_bos_token", "add_eos_token",
      "clean_up_tokenization_spaces", "model_max_length"};
  EXPECT_EQ(keys_of(read_json(out + "/config.json")), config_keys);
  EXPECT_EQ(keys_of(read_json(out + "/generation_config.json")), generation_keys);
  EXPECT_EQ(keys_of(read_json(out + "/tokenizer_config.json")), tokenizer_keys);
  EXPECT_TRUE(file_exists(out + "/model.safetensors"));
  EXPECT_EQ(read_file(out + "/tokenizer.json"), read_file(dir.file("tokenizer.json")));
}

TEST(HfFiles, SpecialIdsComeFromTheTokenizer) {
  test::TempDir dir;
  const std::string out = export_with(dir, {"<|endoftext|>", "<|pad|>"});
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(dir.file("tokenizer.json"));
  const uint32_t eot = *tok.special_id("<|endoftext|>"), pad = *tok.special_id("<|pad|>");
  ASSERT_NE(eot, pad);
  for (const char* file : {"/config.json", "/generation_config.json"}) {
    nlohmann::json j = read_json(out + file);
    EXPECT_EQ(j["bos_token_id"], eot) << file;
    EXPECT_EQ(j["eos_token_id"], eot) << file;
    EXPECT_EQ(j["pad_token_id"], pad) << file;
  }
  nlohmann::json g = read_json(out + "/generation_config.json");
  EXPECT_EQ(g["do_sample"], false);
  nlohmann::json t = read_json(out + "/tokenizer_config.json");
  EXPECT_EQ(t["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(t["eos_token"], "<|endoftext|>");
  EXPECT_EQ(t["pad_token"], "<|pad|>");
  EXPECT_EQ(t["add_bos_token"], false);
  EXPECT_EQ(t["model_max_length"], 24);
}

TEST(HfFiles, MissingSpecialsAreNull) {
  test::TempDir dir;
  const std::string out = export_with(dir, {});
  for (const char* file : {"/config.json", "/generation_config.json"}) {
    nlohmann::json j = read_json(out + file);
    for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id"})
      EXPECT_TRUE(j.at(key).is_null()) << file << " " << key;
  }
  nlohmann::json t = read_json(out + "/tokenizer_config.json");
  EXPECT_TRUE(t.at("eos_token").is_null());
  EXPECT_TRUE(t.at("pad_token").is_null());
}
