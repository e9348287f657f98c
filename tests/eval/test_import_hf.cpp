// `lmlab import hf`: export then import is bit-identical (weights and [model] config), shards
// through model.safetensors.index.json, and each refusal is a UserError naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <tuple>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/eval/import_hf.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "lmlab/train/checkpoint.h"
#include "testing.h"

using namespace lmlab;

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

// An lmlab checkpoint of a fresh model, its HF export beside it; returns {checkpoint, export}.
std::pair<std::string, std::string> export_fixture(const test::TempDir& dir, const ModelConfig& cfg) {
  tokenizer::TrainOptions o;
  o.vocab_size = 300;
  tokenizer::TrainResult r = tokenizer::train({"the cat sat on the mat. the cat ate the rat."}, o);
  test::write_text(dir.file("tok.json"), tokenizer::to_tokenizer_json(r.model));
  Experiment exp;
  exp.model = cfg;
  model::Transformer m(cfg);
  train::CheckpointData data;
  data.config_toml = config::to_toml(config::Schema::of(exp));
  for (const auto& p : m->named_parameters()) data.model.emplace_back(p.key(), p.value().detach().clone());
  data.trainer = {{"step", 7}, {"task", "lm"}};
  data.tokenizer_path = dir.file("tok.json");
  const std::string ck = dir.file("ck"), hf = dir.file("hf");
  train::write_checkpoint_dir(ck, data);
  make_dirs(hf);
  eval::write_hf_export(hf, cfg, data.model, dir.file("tok.json"));
  return {ck, hf};
}

std::map<std::string, torch::Tensor> as_map(const model::NamedTensors& t) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, v] : t) m[k] = v;
  return m;
}

std::string model_toml(const ModelConfig& c) {
  ModelConfig copy = c;
  return config::to_toml(config::Schema::of(copy));
}

// The UserError message of `f`, or "" when it does not throw one.
template <class F>
std::string user_error(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

}  // namespace

TEST(ImportHf, ExportThenImportIsBitIdentical) {
  const std::vector<std::tuple<bool, int64_t, bool>> cases = {{true, 0, false}, {false, 2, true}};
  for (const auto& [tie, kv, bias] : cases) {
    torch::manual_seed(3);
    test::TempDir dir;
    const ModelConfig cfg = tiny(tie, kv, bias);
    const auto [ck, hf] = export_fixture(dir, cfg);
    eval::import_hf(hf, dir.file("back"));
    auto before = as_map(train::read_checkpoint(ck).model), after = as_map(train::read_checkpoint(dir.file("back")).model);
    ASSERT_EQ(before.size(), after.size());
    for (const auto& [name, t] : before) {
      ASSERT_TRUE(after.count(name)) << name;
      EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
      EXPECT_EQ(after.at(name).scalar_type(), torch::kFloat) << name;
    }
    train::InferenceModel m = train::load_for_inference(dir.file("back"), torch::kCPU);
    EXPECT_EQ(model_toml(m.exp.model), model_toml(cfg));
    EXPECT_EQ(read_file(m.tokenizer_path), read_file(dir.file("tok.json")));
    torch::NoGradGuard no_grad;
    train::InferenceModel orig = train::load_for_inference(ck, torch::kCPU);
    torch::Tensor ids = torch::randint(0, cfg.vocab_size, {1, 10}, torch::kLong);
    EXPECT_TRUE(torch::equal(orig.model->forward(ids), m.model->forward(ids)));
  }
}

TEST(ImportHf, ReadsShardsThroughTheIndex) {
  torch::manual_seed(4);
  test::TempDir dir;
  const ModelConfig cfg = tiny(false, 2, false);
  const auto paths = export_fixture(dir, cfg);
  const std::string ck = paths.first, hf = paths.second;
  model::NamedTensors all = model::load_safetensors(hf + "/model.safetensors");
  model::NamedTensors a(all.begin(), all.begin() + 5), b(all.begin() + 5, all.end());
  nlohmann::json map;
  for (const auto& [n, t] : a) map[n] = "model-00001-of-00002.safetensors";
  for (const auto& [n, t] : b) map[n] = "model-00002-of-00002.safetensors";
  model::save_safetensors(hf + "/model-00001-of-00002.safetensors", a);
  model::save_safetensors(hf + "/model-00002-of-00002.safetensors", b);
  std::filesystem::remove(hf + "/model.safetensors");
  test::write_text(hf + "/model.safetensors.index.json", nlohmann::json{{"metadata", {}}, {"weight_map", map}}.dump());
  eval::import_hf(hf, dir.file("back"));
  auto before = as_map(train::read_checkpoint(ck).model), after = as_map(train::read_checkpoint(dir.file("back")).model);
  for (const auto& [name, t] : before) EXPECT_TRUE(torch::equal(t, after.at(name))) << name;

  std::filesystem::remove(hf + "/model-00002-of-00002.safetensors");
  std::string e = user_error([&] { eval::import_hf(hf, dir.file("back2")); });
  EXPECT_NE(e.find("model-00002-of-00002.safetensors: missing shard"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("back2")));
}

TEST(ImportHf, RefusalsNameTheFile) {
  torch::manual_seed(5);
  test::TempDir dir;
  const std::string hf = export_fixture(dir, tiny(true, 0, false)).second;
  const nlohmann::json good = read_json(hf + "/config.json");

  nlohmann::json c = good;
  c["intermediate_size"] = 40;  // the tensors say 48
  test::write_text(hf + "/config.json", c.dump());
  std::string e = user_error([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find(hf + "/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape (48, 32)"),
            std::string::npos)
      << e;

  c = good;
  c["architectures"] = {"MistralForCausalLM"};
  test::write_text(hf + "/config.json", c.dump());
  e = user_error([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find("config.json: unsupported architecture 'MistralForCausalLM'"), std::string::npos) << e;

  test::write_text(hf + "/config.json", good.dump());
  nlohmann::json tok = read_json(hf + "/tokenizer.json");
  tok["model"]["type"] = "WordPiece";
  test::write_text(hf + "/tokenizer.json", tok.dump());
  e = user_error([&] { eval::import_hf(hf, dir.file("out")); });
  EXPECT_NE(e.find("tokenizer.json"), std::string::npos) << e;
  EXPECT_NE(e.find("WordPiece"), std::string::npos) << e;

  e = user_error([&] { eval::import_hf(hf, hf + "/sub/.."); });
  EXPECT_NE(e.find("--output is the same directory as --input " + hf), std::string::npos) << e;
  e = user_error([&] { eval::import_hf(hf + "/sub", hf); });  // (no hf/sub: still compared)
  EXPECT_NE(e.find("--output contains --input " + hf + "/sub"), std::string::npos) << e;
  e = user_error([&] { eval::import_hf(hf, hf, true); });  // --force never allows an overlap
  EXPECT_NE(e.find("--output is the same directory as --input " + hf), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(ImportHfCli, ImportedCheckpointGeneratesAndErrorsAreOneLine) {
  torch::manual_seed(6);
  test::TempDir dir;
  const auto [ck, hf] = export_fixture(dir, tiny(true, 0, false));
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
