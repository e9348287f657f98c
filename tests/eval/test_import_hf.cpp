// `lmlab import hf`: export then import is bit-identical (weights and [model] config), shards
// through model.safetensors.index.json, and each refusal is a UserError naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

#include "hf_fixture.h"
#include "lmlab/eval/import_hf.h"

using namespace lmlab;
using test::read_json;
using test::user_error_of;

namespace {

ModelConfig tiny(bool tie, int64_t kv_heads, bool bias) {
  ModelConfig c;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = kv_heads;
  c.d_model = 32;
  c.vocab_size = 300;
  c.max_seq_len = 16;
  c.tie_embeddings = tie;
  c.bias = bias;
  c.norm_eps = 1e-6;
  c.rope_theta = 500000.0;
  c.init_std = 0.01;
  c.ffn.hidden = 48;
  return c;
}

}  // namespace

TEST(ImportHf, ExportThenImportIsBitIdentical) {
  const std::vector<std::tuple<bool, int64_t, bool>> cases = {{true, 0, false}, {false, 2, true}};
  for (const auto& [tie, kv, bias] : cases) {
    torch::manual_seed(3);
    test::TempDir dir;
    const ModelConfig cfg = tiny(tie, kv, bias);
    const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
    eval::import_hf(hf, dir.file("back"));
    test::expect_same_checkpoint(ck, dir.file("back"), cfg);
  }
}

TEST(ImportHf, ReadsShardsThroughTheIndex) {
  torch::manual_seed(4);
  test::TempDir dir;
  const ModelConfig cfg = tiny(false, 2, false);
  const auto paths = test::hf_export_fixture(dir, cfg);
  const std::string ck = paths.first, hf = paths.second;
  test::shard_export(hf, 5);
  eval::import_hf(hf, dir.file("back"));
  test::expect_same_checkpoint(ck, dir.file("back"), cfg);

  std::filesystem::remove(hf + "/model-00002-of-00002.safetensors");
  std::string e = user_error_of([&] { eval::import_hf(hf, dir.file("back2")); });
  EXPECT_NE(e.find("model-00002-of-00002.safetensors: missing shard"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("back2")));
}

TEST(ImportHf, RefusalsNameTheFile) {
  torch::manual_seed(5);
  test::TempDir dir;
  const std::string hf = test::hf_export_fixture(dir, tiny(true, 0, false)).second;
  const nlohmann::json good = read_json(hf + "/config.json");

  nlohmann::json c = good;
  c["intermediate_size"] = 40;  // the tensors say 48
  test::write_text(hf + "/config.json", c.dump());
  std::string e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape (48, 32)"),
            std::string::npos)
      << e;

  c = good;
  c["architectures"] = {"MistralForCausalLM"};
  test::write_text(hf + "/config.json", c.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find("config.json: unsupported architecture 'MistralForCausalLM'"), std::string::npos) << e;

  test::write_text(hf + "/config.json", good.dump());
  nlohmann::json tok = read_json(hf + "/tokenizer.json");
  tok["model"]["type"] = "WordPiece";
  test::write_text(hf + "/tokenizer.json", tok.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
  EXPECT_NE(e.find("WordPiece"), std::string::npos) << e;

  e = user_error_of([&] { eval::import_hf(hf, hf + "/sub/.."); });
  EXPECT_NE(e.find("--output is the same directory as --input " + hf), std::string::npos) << e;
  e = user_error_of([&] { eval::import_hf(hf + "/sub", hf); });  // (no hf/sub: still compared)
  EXPECT_NE(e.find("--output contains --input " + hf + "/sub"), std::string::npos) << e;
  e = user_error_of([&] { eval::import_hf(hf, hf, true); });  // --force never allows an overlap
  EXPECT_NE(e.find("--output is the same directory as --input " + hf), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

// transformers 5 writes rope_theta inside rope_parameters, and may save a tokenizer with a
// TemplateProcessing of the text alone: both read as before; scaling or an added BOS is refused.
TEST(ImportHf, ReadsTransformers5RopeParametersAndTextOnlyTemplates) {
  torch::manual_seed(7);
  test::TempDir dir;
  const ModelConfig cfg = tiny(false, 2, false);
  const auto [ck, hf] = test::hf_export_fixture(dir, cfg);
  const nlohmann::json good = read_json(hf + "/config.json"), good_tok = read_json(hf + "/tokenizer.json");
  nlohmann::json c = good;
  c.erase("rope_theta");
  c["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  test::write_text(hf + "/config.json", c.dump());
  nlohmann::json tok = good_tok;
  const nlohmann::json text_only = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};
  tok["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {text_only}}, {"pair", nlohmann::json::array()},
                           {"special_tokens", nlohmann::json::object()}};
  test::write_text(hf + "/tokenizer.json", tok.dump());
  eval::import_hf(hf, dir.file("back"));
  test::expect_same_checkpoint(ck, dir.file("back"), cfg, /*same_tokenizer=*/false);  // the template was added

  c["rope_parameters"]["rope_type"] = "yarn";
  test::write_text(hf + "/config.json", c.dump());
  std::string e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/config.json: rope_parameters.rope_type 'yarn' is not supported"), std::string::npos) << e;
  c["rope_parameters"]["rope_type"] = "default";
  c["rope_theta"] = 10000.0;
  test::write_text(hf + "/config.json", c.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/config.json: rope_theta and rope_parameters.rope_theta differ"), std::string::npos) << e;

  test::write_text(hf + "/config.json", good.dump());
  const nlohmann::json bos = {{"SpecialToken", {{"id", "<|endoftext|>"}, {"type_id", 0}}}};
  tok["post_processor"]["single"] = {bos, text_only};
  test::write_text(hf + "/tokenizer.json", tok.dump());
  e = user_error_of([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/tokenizer.json: post_processor 'TemplateProcessing' adds tokens"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(ImportHfCli, ImportedCheckpointGeneratesAndErrorsAreOneLine) {
  torch::manual_seed(6);
  test::TempDir dir;
  const auto [ck, hf] = test::hf_export_fixture(dir, tiny(true, 0, false));
  auto r = test::run_lmlab("import hf --input " + hf + " --output " + dir.file("back"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ours = test::run_lmlab("generate --checkpoint " + ck + " --prompt 'the cat' --temperature 0 --max-tokens 5");
  auto back = test::run_lmlab("generate --checkpoint " + dir.file("back") + " --prompt 'the cat' --temperature 0 --max-tokens 5");
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, ours.out);

  std::filesystem::remove(hf + "/config.json");
  r = test::run_lmlab("import hf --input " + hf + " --output " + dir.file("again"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "lmlab: error: " + hf + "/config.json: missing\n");
}
