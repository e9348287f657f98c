// Shared by the `lmlab import hf` tests: an lmlab checkpoint of a fresh model beside its HF
// export, sharding an export through model.safetensors.index.json, and comparisons.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "lmlab/train/checkpoint.h"
#include "testing.h"
#include "user_error_of.h"

namespace lmlab::test {

// A checkpoint of a fresh `cfg` model (vocab 300 tokenizer) and its export; returns {checkpoint,
// export}. Biases get random values (a fresh model's are zero, which a GPT-2 import reads as
// model.bias = false).
inline std::pair<std::string, std::string> hf_export_fixture(const TempDir& dir, const ModelConfig& cfg) {
  tokenizer::TrainOptions o;
  o.vocab_size = 300;
  tokenizer::TrainResult r = tokenizer::train({"the cat sat on the mat. the cat ate the rat."}, o);
  write_text(dir.file("tok.json"), tokenizer::to_tokenizer_json(r.model));
  Experiment exp;
  exp.model = cfg;
  model::Transformer m(cfg);
  train::CheckpointData data;
  data.config_toml = config::to_toml(config::Schema::of(exp));
  for (const auto& p : m->named_parameters()) {
    torch::Tensor t = p.value().detach().clone();
    if (p.key().find("bias") != std::string::npos) t.normal_(0.0, 0.1);
    data.model.emplace_back(p.key(), t);
  }
  data.trainer = {{"step", 7}, {"task", "lm"}};
  data.tokenizer_path = dir.file("tok.json");
  const std::string ck = dir.file("ck"), hf = dir.file("hf");
  train::write_checkpoint_dir(ck, data);
  make_dirs(hf);
  eval::write_hf_export(hf, cfg, data.model, dir.file("tok.json"));
  return {ck, hf};
}

// Splits hf/model.safetensors after its first `n_first` tensors into two shards and an index.
inline void shard_export(const std::string& hf, size_t n_first) {
  model::NamedTensors all = model::load_safetensors(hf + "/model.safetensors");
  model::NamedTensors a(all.begin(), all.begin() + static_cast<int64_t>(n_first)), b(all.begin() + static_cast<int64_t>(n_first), all.end());
  nlohmann::json map;
  for (const auto& [n, t] : a) map[n] = "model-00001-of-00002.safetensors";
  for (const auto& [n, t] : b) map[n] = "model-00002-of-00002.safetensors";
  model::save_safetensors(hf + "/model-00001-of-00002.safetensors", a);
  model::save_safetensors(hf + "/model-00002-of-00002.safetensors", b);
  std::filesystem::remove(hf + "/model.safetensors");
  write_text(hf + "/model.safetensors.index.json", nlohmann::json{{"metadata", {}}, {"weight_map", map}}.dump());
}

inline std::map<std::string, torch::Tensor> tensor_map(const model::NamedTensors& t) {
  std::map<std::string, torch::Tensor> m;
  for (const auto& [k, v] : t) m[k] = v;
  return m;
}

inline std::string model_toml(const ModelConfig& c) {
  ModelConfig copy = c;
  return config::to_toml(config::Schema::of(copy));
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// The top-level keys of a JSON object (the exports' fixed key sets).
inline std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> k;
  for (const auto& [key, v] : j.items()) k.insert(key);
  return k;
}

// Checkpoint `back` holds exactly the tensors of `ck` (names, values, fp32), the same [model]
// section as `cfg`, the same tokenizer (unless the test edited it), and its model gives the same logits.
inline void expect_same_checkpoint(const std::string& ck, const std::string& back, const ModelConfig& cfg,
                                   bool same_tokenizer = true) {
  auto before = tensor_map(train::read_checkpoint(ck).model), after = tensor_map(train::read_checkpoint(back).model);
  ASSERT_EQ(before.size(), after.size());
  for (const auto& [name, t] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, after.at(name))) << name;
    EXPECT_EQ(after.at(name).scalar_type(), torch::kFloat) << name;
  }
  train::InferenceModel m = train::load_for_inference(back, torch::kCPU);
  EXPECT_EQ(model_toml(m.exp.model), model_toml(cfg));
  train::InferenceModel orig = train::load_for_inference(ck, torch::kCPU);
  if (same_tokenizer) {
    EXPECT_EQ(read_file(m.tokenizer_path), read_file(orig.tokenizer_path));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(0, cfg.vocab_size, {1, 10}, torch::kLong);
  EXPECT_TRUE(torch::equal(orig.model->forward(ids), m.model->forward(ids)));
}

}  // namespace lmlab::test
