// The JSON files of the GPT-2 and Mixtral exports (the Llama's: test_hf_files.cpp): config.json
// has exactly the expected keys, and every architecture carries the special ids in config.json
// and generation_config.json and a tokenizer_config.json for AutoTokenizer.
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

ModelConfig tiny(const std::string& kind, int64_t vocab) {
  ModelConfig c;
  c.n_layer = 1;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = vocab;
  c.max_seq_len = 24;
  c.ffn.hidden = 32;
  if (kind == "gpt2") c.arch = "gpt2";
  if (kind == "mixtral") {
    c.ffn.type = "moe";
    c.ffn.n_experts = 4;
    c.ffn.top_k = 2;
  }
  return c;
}

// Exports a fresh `kind` model with a tokenizer that has <|endoftext|> and <|pad|> into dir/out.
std::string export_kind(const test::TempDir& dir, const std::string& kind) {
  tokenizer::TrainOptions o;
  o.vocab_size = 262;
  o.specials = {"<|endoftext|>", "<|pad|>"};
  tokenizer::TrainResult r = tokenizer::train({"the cat sat on the mat. the cat ate the rat."}, o);
  test::write_text(dir.file("tokenizer.json"), tokenizer::to_tokenizer_json(r.model));
  ModelConfig cfg = tiny(kind, tokenizer::Tokenizer::load(dir.file("tokenizer.json")).vocab_size());
  model::Transformer m(cfg);
  model::NamedTensors ours;
  for (const auto& p : m->named_parameters()) ours.emplace_back(p.key(), p.value());
  const std::string out = dir.file("out");
  make_dirs(out);
  eval::write_hf_export(out, cfg, ours, dir.file("tokenizer.json"));
  return out;
}

const std::set<std::string> kSpecialIds = {"bos_token_id", "eos_token_id", "pad_token_id"};

std::set<std::string> with_special_ids(std::set<std::string> keys) {
  keys.insert(kSpecialIds.begin(), kSpecialIds.end());
  return keys;
}

}  // namespace

TEST(ExportConfigKeys, Gpt2ConfigHasExactlyTheExpectedKeys) {
  test::TempDir dir;
  const nlohmann::json c = read_json(export_kind(dir, "gpt2") + "/config.json");
  EXPECT_EQ(keys_of(c), with_special_ids({"architectures", "model_type", "n_embd", "n_layer", "n_head", "n_inner",
                                           "n_positions", "n_ctx", "vocab_size", "activation_function",
                                           "layer_norm_epsilon", "tie_word_embeddings", "scale_attn_weights",
                                           "resid_pdrop", "embd_pdrop", "attn_pdrop", "initializer_range",
                                           "torch_dtype", "use_cache"}));
  EXPECT_EQ(c["architectures"][0], "GPT2LMHeadModel");
  EXPECT_EQ(c["n_inner"], 32);
  EXPECT_EQ(c["n_positions"], 24);
}

TEST(ExportConfigKeys, MixtralConfigHasExactlyTheExpectedKeys) {
  test::TempDir dir;
  const nlohmann::json c = read_json(export_kind(dir, "mixtral") + "/config.json");
  EXPECT_EQ(keys_of(c),
            with_special_ids({"architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                              "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps",
                              "rope_theta", "max_position_embeddings", "vocab_size", "tie_word_embeddings",
                              "attention_dropout", "initializer_range", "torch_dtype", "use_cache",
                              "num_local_experts", "num_experts_per_tok", "router_aux_loss_coef",
                              "output_router_logits", "sliding_window"}));
  EXPECT_EQ(c["architectures"][0], "MixtralForCausalLM");
  EXPECT_EQ(c["intermediate_size"], 32);
  EXPECT_EQ(c["num_experts_per_tok"], 2);
  EXPECT_TRUE(c["sliding_window"].is_null());
}

TEST(ExportConfigKeys, EveryArchitectureCarriesTheSpecialTokens) {
  for (const char* kind : {"llama", "gpt2", "mixtral"}) {
    SCOPED_TRACE(kind);
    test::TempDir dir;
    const std::string out = export_kind(dir, kind);
    tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(dir.file("tokenizer.json"));
    const uint32_t eot = *tok.special_id("<|endoftext|>"), pad = *tok.special_id("<|pad|>");
    for (const char* file : {"/config.json", "/generation_config.json"}) {
      const nlohmann::json j = read_json(out + file);
      EXPECT_EQ(j.at("bos_token_id"), eot) << file;
      EXPECT_EQ(j.at("eos_token_id"), eot) << file;
      EXPECT_EQ(j.at("pad_token_id"), pad) << file;
    }
    const nlohmann::json g = read_json(out + "/generation_config.json");
    EXPECT_EQ(keys_of(g), with_special_ids({"do_sample"}));
    const nlohmann::json t = read_json(out + "/tokenizer_config.json");
    EXPECT_EQ(t.at("tokenizer_class"), "PreTrainedTokenizerFast");
    EXPECT_EQ(t.at("eos_token"), "<|endoftext|>");
    EXPECT_EQ(t.at("bos_token"), "<|endoftext|>");
    EXPECT_EQ(t.at("pad_token"), "<|pad|>");
    EXPECT_EQ(t.at("add_bos_token"), false);
    EXPECT_EQ(t.at("model_max_length"), 24);
    EXPECT_EQ(read_file(out + "/tokenizer.json"), read_file(dir.file("tokenizer.json")));
  }
}
