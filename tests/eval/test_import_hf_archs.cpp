// `lmlab import hf` of GPT2LMHeadModel and MixtralForCausalLM directories: export then import
// is bit-identical (every tensor, the [model] section, the logits), shards and the other layouts
// transformers writes read alike, and each refusal is a UserError naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

#include "hf_fixture.h"
#include "lmlab/eval/import_hf.h"

using namespace lmlab;
using test::read_json;
using test::user_error_of;

namespace {

ModelConfig tiny_gpt2(bool tie, bool bias) {
  ModelConfig c;
  c.arch = "gpt2";
  c.n_layer = 2;
  c.n_head = 4;
  c.d_model = 32;
  c.vocab_size = 300;
  c.max_seq_len = 16;
  c.tie_embeddings = tie;
  c.bias = bias;
  c.norm_eps = 1e-6;
  c.init_std = 0.01;
  c.ffn.hidden = 64;
  return c;
}

ModelConfig tiny_mixtral(bool tie, int64_t kv_heads) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = kv_heads;
  c.d_model = 32;
  c.vocab_size = 300;
  c.max_seq_len = 16;
  c.tie_embeddings = tie;
  c.norm_eps = 1e-6;
  c.rope_theta = 500000.0;
  c.ffn.type = "moe";
  c.ffn.hidden = 48;
  c.ffn.n_experts = 4;
  c.ffn.top_k = 2;
  c.ffn.balance_coef = 0.02;
  return c;
}

// The UserError of importing `hf` into dir/out after `edit` changed its config.json (restored
// afterwards), "" when it imports; a refused import must leave no dir/out.
template <class Edit>
std::string import_error_with_config(const test::TempDir& dir, const std::string& hf, Edit edit) {
  const nlohmann::json good = read_json(hf + "/config.json");
  nlohmann::json c = good;
  edit(c);
  test::write_text(hf + "/config.json", c.dump());
  std::string e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  test::write_text(hf + "/config.json", good.dump());
  EXPECT_EQ(std::filesystem::exists(dir.file("out")), e.empty());  // nothing written when refused
  std::filesystem::remove_all(dir.file("out"));
  return e;
}

}  // namespace

TEST(ImportHfGpt2, ExportThenImportIsBitIdentical) {
  for (bool tie : {true, false})
    for (bool bias : {true, false}) {
      torch::manual_seed(11);
      test::TempDir dir;
      const ModelConfig cfg = tiny_gpt2(tie, bias);
      const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
      eval::ImportSummary s = eval::import_hf(hf, dir.file("back"));
      EXPECT_EQ(s.architecture, "GPT2LMHeadModel");
      EXPECT_EQ(s.model.bias, bias) << "zero biases (bias = false) come back as bias = false";
      SCOPED_TRACE("tie=" + std::to_string(tie) + " bias=" + std::to_string(bias));
      test::expect_same_checkpoint(ck, dir.file("back"), cfg);
    }
}

// A GPT2Model checkpoint (the Hub's "gpt2") has no "transformer." prefix and may hold the
// causal-mask buffers; a tied head may be stored as a copy of wte. All read as the plain export.
TEST(ImportHfGpt2, ReadsBareNamesMaskBuffersAndAStoredTiedHead) {
  torch::manual_seed(12);
  test::TempDir dir;
  const ModelConfig cfg = tiny_gpt2(true, true);
  const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
  model::NamedTensors renamed;
  for (const auto& [name, t] : model::load_safetensors(hf + "/model.safetensors")) {
    renamed.emplace_back(name.substr(std::string("transformer.").size()), t);
    if (name == "transformer.wte.weight") renamed.emplace_back("lm_head.weight", t.clone());
  }
  renamed.emplace_back("h.0.attn.bias", torch::ones({1, 1, 16, 16}).tril());
  renamed.emplace_back("h.1.attn.masked_bias", torch::full({1}, -1e4));
  model::save_safetensors(hf + "/model.safetensors", renamed);
  eval::import_hf(hf, dir.file("back"));
  test::expect_same_checkpoint(ck, dir.file("back"), cfg);

  for (auto& [name, t] : renamed)
    if (name == "lm_head.weight") t = t + 1;
  model::save_safetensors(hf + "/model.safetensors", renamed);
  std::string e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/model.safetensors: lm_head.weight differs from transformer.wte.weight"), std::string::npos) << e;
}

TEST(ImportHfGpt2, MissingShardShapeMismatchAndTokenizerNameTheFile) {
  torch::manual_seed(13);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny_gpt2(false, true)).second;
  std::string e = import_error_with_config(dir, hf, [](nlohmann::json& c) { c["n_inner"] = 96; });
  EXPECT_NE(e.find(hf + "/model.safetensors: tensor 'transformer.h.0.mlp.c_fc.weight' has shape (32, 64), expected (32, 96)"),
            std::string::npos)
      << e;
  const nlohmann::json tok = read_json(hf + "/tokenizer.json");
  nlohmann::json bad = tok;
  bad["model"]["type"] = "Unigram";
  test::write_text(hf + "/tokenizer.json", bad.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/tokenizer.json"), std::string::npos) << e;
  EXPECT_NE(e.find("Unigram"), std::string::npos) << e;
  test::write_text(hf + "/tokenizer.json", tok.dump());

  test::shard_export(hf, 7);
  eval::import_hf(hf, dir.file("sharded"));  // both shards there: fine
  std::filesystem::remove(hf + "/model-00001-of-00002.safetensors");
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/model-00001-of-00002.safetensors: missing shard"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(ImportHfGpt2, RefusesWhatLmlabCannotExpress) {
  torch::manual_seed(14);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny_gpt2(true, true)).second;
  const std::vector<std::tuple<const char*, nlohmann::json, std::string>> cases = {
      {"scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx = true is not supported"},
      {"reorder_and_upcast_attn", true, "reorder_and_upcast_attn = true is not supported"},
      {"add_cross_attention", true, "add_cross_attention = true is not supported"},
      {"scale_attn_weights", false, "scale_attn_weights = false is not supported"},
      {"activation_function", "gelu", "activation_function 'gelu' is not supported"},
      {"n_head", 5, "n_embd 32 is not a multiple of n_head"},
      {"n_embd", "32", "'n_embd' has the wrong type"},
  };
  for (const auto& [key, value, expected] : cases) {
    std::string e = import_error_with_config(dir, hf, [k = key, v = value](nlohmann::json& c) { c[k] = v; });
    EXPECT_NE(e.find(hf + "/config.json: " + expected), std::string::npos) << key << ": " << e;
  }
  std::string e = import_error_with_config(dir, hf, [](nlohmann::json& c) { c.erase("n_layer"); });
  EXPECT_NE(e.find(hf + "/config.json: 'n_layer' is missing"), std::string::npos) << e;
  // tanh-GELU under its other name is the same function.
  EXPECT_EQ(import_error_with_config(dir, hf, [](nlohmann::json& c) { c["activation_function"] = "gelu_pytorch_tanh"; }), "");
}

TEST(ImportHfMixtral, ExportThenImportIsBitIdentical) {
  const std::vector<std::tuple<bool, int64_t>> cases = {{false, 2}, {true, 0}};
  for (const auto& [tie, kv] : cases) {
    torch::manual_seed(21);
    test::TempDir dir;
    const ModelConfig cfg = tiny_mixtral(tie, kv);
    const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
    EXPECT_EQ(eval::import_hf(hf, dir.file("back")).architecture, "MixtralForCausalLM");
    SCOPED_TRACE("tie=" + std::to_string(tie) + " kv=" + std::to_string(kv));
    test::expect_same_checkpoint(ck, dir.file("back"), cfg);
  }
}

// transformers 5 stores each layer's experts as two fused tensors under mlp.
TEST(ImportHfMixtral, ReadsTransformers5FusedExperts) {
  torch::manual_seed(22);
  test::TempDir dir;
  const ModelConfig cfg = tiny_mixtral(false, 2);
  const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
  auto hf_tensors = test::tensor_map(model::load_safetensors(hf + "/model.safetensors"));
  model::NamedTensors v5;
  for (const auto& [name, t] : hf_tensors)
    if (name.find("block_sparse_moe") == std::string::npos) v5.emplace_back(name, t);
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    std::vector<torch::Tensor> gate_up, down;
    for (int64_t e = 0; e < cfg.ffn.n_experts; ++e) {
      const std::string x = p + "block_sparse_moe.experts." + std::to_string(e) + ".";
      gate_up.push_back(torch::cat({hf_tensors.at(x + "w1.weight"), hf_tensors.at(x + "w3.weight")}, 0));  // (2H, C)
      down.push_back(hf_tensors.at(x + "w2.weight"));                                                       // (C, H)
    }
    v5.emplace_back(p + "mlp.gate.weight", hf_tensors.at(p + "block_sparse_moe.gate.weight"));
    v5.emplace_back(p + "mlp.experts.gate_up_proj", torch::stack(gate_up));  // (E, 2H, C)
    v5.emplace_back(p + "mlp.experts.down_proj", torch::stack(down));        // (E, C, H)
  }
  model::save_safetensors(hf + "/model.safetensors", v5);
  eval::import_hf(hf, dir.file("back"));
  test::expect_same_checkpoint(ck, dir.file("back"), cfg);
}

TEST(ImportHfMixtral, MissingShardShapeMismatchAndTokenizerNameTheFile) {
  torch::manual_seed(23);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny_mixtral(false, 2)).second;
  std::string e = import_error_with_config(dir, hf, [](nlohmann::json& c) { c["intermediate_size"] = 40; });
  EXPECT_NE(e.find(hf + "/model.safetensors: tensor 'model.layers.0.block_sparse_moe.experts.0.w1.weight' has shape "
                        "(48, 32), expected (40, 32)"),
            std::string::npos)
      << e;
  e = import_error_with_config(dir, hf, [](nlohmann::json& c) { c["num_local_experts"] = 5; });
  EXPECT_NE(e.find(hf + "/model.safetensors: tensor 'model.layers.0.block_sparse_moe.gate.weight' has shape (4, 32), "
                        "expected (5, 32)"),
            std::string::npos)
      << e;
  const nlohmann::json tok = read_json(hf + "/tokenizer.json");
  nlohmann::json bad = tok;
  bad["model"]["type"] = "WordPiece";
  test::write_text(hf + "/tokenizer.json", bad.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/tokenizer.json"), std::string::npos) << e;
  EXPECT_NE(e.find("WordPiece"), std::string::npos) << e;
  std::filesystem::remove(hf + "/tokenizer.json");
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/tokenizer.json: missing"), std::string::npos) << e;
  test::write_text(hf + "/tokenizer.json", tok.dump());

  test::shard_export(hf, 12);
  std::filesystem::remove(hf + "/model-00002-of-00002.safetensors");
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/model-00002-of-00002.safetensors: missing shard"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(ImportHfMixtral, RefusesWhatLmlabCannotExpress) {
  torch::manual_seed(24);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny_mixtral(false, 2)).second;
  const std::vector<std::tuple<const char*, nlohmann::json, std::string>> cases = {
      {"sliding_window", 8, "sliding_window 8 is shorter than max_position_embeddings 16"},
      {"num_experts_per_tok", 1, "num_experts_per_tok 1 is not supported"},
      {"num_experts_per_tok", 5, "num_experts_per_tok is larger than num_local_experts"},
      {"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}, "rope_scaling is not supported"},
      {"hidden_act", "gelu", "hidden_act 'gelu' is not supported"},
      {"attention_bias", true, "attention_bias = true is not supported"},
      {"num_key_value_heads", 3, "num_attention_heads is not a multiple of num_key_value_heads 3"},
  };
  for (const auto& [key, value, expected] : cases) {
    std::string e = import_error_with_config(dir, hf, [k = key, v = value](nlohmann::json& c) { c[k] = v; });
    EXPECT_NE(e.find(hf + "/config.json: " + expected), std::string::npos) << key << ": " << e;
  }
  // A window no sequence reaches changes nothing.
  EXPECT_EQ(import_error_with_config(dir, hf, [](nlohmann::json& c) { c["sliding_window"] = 4096; }), "");
}

TEST(ImportHfCli, ImportedGpt2AndMixtralGenerateAsTheOriginalsAndErrorsAreOneLine) {
  for (const ModelConfig& cfg : {tiny_gpt2(true, true), tiny_mixtral(false, 2)}) {
    torch::manual_seed(31);
    test::TempDir dir;
    const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
    auto r = test::run_lmlab("import hf --input " + hf + " --output " + dir.file("back"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(cfg.arch == "gpt2" ? "GPT2LMHeadModel" : "MixtralForCausalLM"), std::string::npos) << r.err;
    const std::string gen = " --prompt 'the cat' --temperature 0 --max-tokens 6";
    auto ours = test::run_lmlab("generate --checkpoint " + ck + gen);
    auto back = test::run_lmlab("generate --checkpoint " + dir.file("back") + gen);
    ASSERT_EQ(ours.exit_code, 0) << ours.err;
    ASSERT_EQ(back.exit_code, 0) << back.err;
    EXPECT_EQ(back.out, ours.out);
    EXPECT_GT(back.out.size(), std::string("the cat").size());

    // train.init_from takes every imported tensor into the model its own config.toml builds.
    std::string text;
    for (int i = 0; i < 40; ++i) text += "the cat sat on the mat. the cat ate the rat.\n<|endoftext|>\n";
    test::write_text(dir.file("text.txt"), text);
    r = test::run_lmlab("data prepare --tokenizer " + dir.file("tok.json") + " --input " + dir.file("text.txt") +
                        " --output " + dir.file("data"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const size_t n_tensors = train::read_checkpoint(dir.file("back")).model.size();
    r = test::run_lmlab("train --config " + dir.file("back") + "/config.toml --set train.init_from=" + dir.file("back") +
                        " --set data.dir=" + dir.file("data") + " --set run.out_dir=" + dir.file("run") +
                        " --set train.steps=2 --set train.warmup_steps=1 --set train.batch_size=2 --set eval.every=0"
                        " --set eval.windows=1");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find(": copied " + std::to_string(n_tensors) + " tensors\n"), std::string::npos) << r.err;
  }
  torch::manual_seed(32);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny_gpt2(true, false)).second;
  nlohmann::json c = read_json(hf + "/config.json");
  c["reorder_and_upcast_attn"] = true;
  test::write_text(hf + "/config.json", c.dump());
  auto r = test::run_lmlab("import hf --input " + hf + " --output " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "lmlab: error: " + hf +
                       "/config.json: reorder_and_upcast_attn = true is not supported (lmlab's gpt2 has no such option)\n");
}
