// The MoE family through the real registry and transformer: every type builds, runs forward and
// backward, reports its aux loss and per-layer stats, honours the placement keys, and the
// comparison configs have equal total and active model parameters (lmlab train --print-params),
// and the dense-split configs (Finedeep, DSMoE) match the dense model.
#include <gtest/gtest.h>

#include <filesystem>

#include "lmlab/config/config.h"
#include "lmlab/model/moe/factory.h"
#include "lmlab/model/moe/mask_moe.h"
#include "lmlab/model/transformer.h"
#include "lmlab/train/experiment.h"

namespace lmlab::model::moe {
namespace {

ModelConfig tiny(const std::string& type) {
  ModelConfig cfg;
  cfg.n_layer = 3;
  cfg.n_head = 2;
  cfg.d_model = 16;
  cfg.vocab_size = 50;
  cfg.max_seq_len = 16;
  cfg.ffn.type = type;
  cfg.ffn.hidden = 32;
  cfg.ffn.n_experts = 4;
  cfg.ffn.top_k = 2;
  cfg.ffn.expert_hidden = 16;
  cfg.ffn.n_shared = 1;
  cfg.ffn.dsmoe_n = 4;
  cfg.ffn.moe_layers = "from";
  cfg.ffn.moe_from = 1;
  return cfg;
}

TEST(MoeTransformer, EveryTypeTrainsThroughTheRegistry) {
  torch::manual_seed(0);
  for (const auto& type : moe_types()) {
    Transformer model(tiny(type));
    auto idx = torch::randint(0, 50, {2, 8}, torch::kLong);
    auto logits = model->forward(idx);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 8, 50})) << type;
    auto loss = logits.logsumexp(-1).mean();
    auto aux = model->aux_loss();
    if (type != "hash_moe" && type != "finedeep") {
      ASSERT_TRUE(aux.defined()) << type;
      loss = loss + aux;
    }
    loss.backward();
    auto stats = model->ffn_stats();
    EXPECT_FALSE(stats.contains("layer0")) << type << ": layer 0 is dense (moe_from = 1)";
    EXPECT_TRUE(stats.contains("layer1")) << type;
    bool routed = type != "dsmoe" && type != "finedeep";
    if (routed) {
      EXPECT_EQ(stats["layer2"]["load"].size(), 4u) << type;
      EXPECT_LT(model->active_params(), model->total_params()) << type;
    }
  }
}

TEST(MoeTransformer, MaskMoeFrequenciesReachEveryLayer) {
  auto cfg = tiny("mask_moe");
  cfg.ffn.moe_layers = "all";
  Transformer model(cfg);
  EXPECT_EQ(set_token_frequencies(*model, torch::arange(50, 0, -1)), 3);
}

// The model of a shipped experiment config (the vocabulary comes from the data there).
ModelConfig model_config_of(const std::filesystem::path& file) {
  Experiment exp;
  config::load(exp, file.string(), {});
  if (exp.model.vocab_size == 0) exp.model.vocab_size = 8192;
  return exp.model;
}

TEST(MoeTransformer, ComparisonConfigsHaveEqualModelParams) {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> counts;
  for (const auto& entry : fs::directory_iterator(fs::path(LMLAB_SOURCE_DIR) / "configs" / "moe")) {
    if (entry.path().extension() != ".toml") continue;
    ModelConfig cfg = model_config_of(entry.path());
    if (cfg.ffn.type == "dense") continue;
    Transformer model(cfg);
    counts.push_back({entry.path().filename().string(), {model->total_params(), model->active_params()}});
    std::printf("%-20s total %ld active %ld\n", counts.back().first.c_str(), (long)model->total_params(),
                (long)model->active_params());
  }
  ASSERT_GE(counts.size(), 7u);
  for (const auto& [name, c] : counts) {
    EXPECT_NEAR(double(c.first) / double(counts[0].second.first), 1.0, 0.01) << name;
    EXPECT_NEAR(double(c.second) / double(counts[0].second.second), 1.0, 0.01) << name;
  }
}


// Finedeep and DSMoE partition the dense FFN: their configs in configs/moe/dense_split/ must
// build models with the dense run's parameters (within 1%: Finedeep's routers, DSMoE's gates),
// and the DSMoE continuation must load every tensor of the dense model (init_from).
TEST(MoeTransformer, DenseSplitConfigsMatchTheDenseModel) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(LMLAB_SOURCE_DIR) / "configs" / "moe";
  Transformer dense(model_config_of(dir / "dense.toml"));
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir / "dense_split")) {
    if (entry.path().extension() != ".toml") continue;
    ++n;
    Transformer model(model_config_of(entry.path()));
    EXPECT_NEAR(double(model->total_params()) / double(dense->total_params()), 1.0, 0.01) << entry.path();
    auto params = model->named_parameters();
    for (const auto& p : dense->named_parameters()) {
      ASSERT_TRUE(params.contains(p.key()) || entry.path().stem() == "finedeep") << entry.path() << " " << p.key();
      if (params.contains(p.key())) {
        EXPECT_EQ(params[p.key()].sizes(), p.value().sizes()) << p.key();
      }
    }
  }
  EXPECT_EQ(n, 5);
}

}  // namespace
}  // namespace lmlab::model::moe
