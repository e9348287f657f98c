// The decoder counted from its config (param_count.h, issue #23: --print-params builds nothing)
// against the model built from the same config: every parameter's name and size, the total,
// active and training FLOPs per token, for every shipped config and for a grid over every FFN
// type, arch and attention layout (UniAttn softmax sharing with compensation, CLA K/V sharing).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/transformer.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "lmlab/train/param_count.h"
#include "lmlab/train/print_params.h"
#include "testing.h"

using namespace lmlab;
namespace fs = std::filesystem;

namespace {

// The config-only count equals the built model, tensor by tensor; `what` names the case.
void expect_exact(const ModelConfig& m, int64_t seq_len, const std::string& what) {
  const auto counted = train::count_decoder(m, seq_len, /*with_names=*/true);
  ASSERT_TRUE(counted) << what;
  model::Transformer built(m);
  std::map<std::string, int64_t> real, mine(counted->names.begin(), counted->names.end());
  for (const auto& item : built->named_parameters()) real[item.key()] = item.value().numel();
  EXPECT_EQ(mine.size(), counted->names.size()) << what << ": a name listed twice";
  EXPECT_EQ(mine, real) << what;
  EXPECT_EQ(counted->total, static_cast<double>(built->total_params())) << what;
  EXPECT_EQ(counted->active, static_cast<double>(built->active_params())) << what;
  EXPECT_EQ(counted->train_flops_per_token, built->train_flops_per_token(seq_len)) << what;
  // The counts alone (one representative per kind of layer, what the size check uses) agree.
  const auto fast = train::count_decoder(m, seq_len);
  ASSERT_TRUE(fast) << what;
  EXPECT_EQ(fast->total, counted->total) << what;
  EXPECT_EQ(fast->active, counted->active) << what;
  EXPECT_EQ(fast->train_flops_per_token, counted->train_flops_per_token) << what;
  EXPECT_TRUE(fast->names.empty()) << what;
}

ModelConfig small(const std::string& ffn_type) {
  ModelConfig m;
  m.n_layer = 4;
  m.n_head = 4;
  m.d_model = 32;
  m.vocab_size = 97;
  m.max_seq_len = 24;
  m.ffn.type = ffn_type;
  m.ffn.hidden = 64;
  m.ffn.n_experts = 4;
  m.ffn.top_k = 2;
  m.ffn.expert_hidden = 16;
  m.ffn.mask_visible = 2;
  m.ffn.dsmoe_n = 4;
  m.ffn.finedeep_m = 2;
  m.ffn.finedeep_k = 2;
  return m;
}

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ParamCount, EveryShippedConfigIsCountedExactlyWithoutBuildingIt) {
  int decoders = 0, others = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(LMLAB_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    Experiment exp;
    config::Schema schema = config::Schema::of(exp);
    try {
      config::apply_toml_file(schema, entry.path().string());
    } catch (const UserError&) {
      continue;  // not a training config: [detect] files (lmlab detect)
    }
    const std::string what = entry.path().lexically_relative(LMLAB_SOURCE_DIR).string();
    if (exp.model.family != "decoder") {  // counted by building (describe_model says so)
      EXPECT_FALSE(train::count_decoder(exp.model, exp.data.seq_len)) << what;
      ++others;
      continue;
    }
    if (exp.model.vocab_size == 0) exp.model.vocab_size = 300;  // from the data, absent here
    expect_exact(exp.model, exp.data.seq_len, what);
    ++decoders;
  }
  EXPECT_GE(decoders, 25);  // configs/ held 29 decoder and 9 other training configs
  EXPECT_GE(others, 8);
}

TEST(ParamCount, EveryFfnTypeArchAndAttentionLayoutIsExact) {
  const auto types = model::FfnRegistry::instance().names();
  ASSERT_GE(types.size(), 8u);
  int cases = 0;
  for (const std::string& type : types)
    for (const char* arch : {"llama", "gpt2"})
      for (int variant = 0; variant < 4; ++variant) {
        ModelConfig m = small(type);
        m.arch = arch;
        m.bias = variant % 2 == 1;
        m.tie_embeddings = variant < 2;
        m.n_kv_head = variant == 1 ? 2 : 0;
        m.ffn.moe_layers = variant == 2 ? "every" : variant == 3 ? "from" : "all";
        m.ffn.n_shared = variant >= 2 ? 1 : 0;
        m.ffn.shared_hidden = variant == 3 ? 8 : 0;
        m.ffn.shared_mix = variant == 3 ? "coefficient" : "sum";
        m.ffn.dsmoe_router = variant == 1 ? "topk" : "sigmoid";
        m.ffn.finedeep_router = variant == 1 ? "input" : "output";
        if (variant >= 2) {  // SuperBlocks of 2 from layer 1: softmax sharing with W_c, or CLA
          m.attention.unify_group = 2;
          m.attention.unify_begin = 1;
          m.attention.unify_end = 3;
          m.attention.share = variant == 2 ? "softmax" : "kv";
          m.attention.compensation = true;
        }
        expect_exact(m, 16, type + " " + arch + " variant " + std::to_string(variant));
        ++cases;
      }
  EXPECT_EQ(cases, static_cast<int>(types.size()) * 8);
}

TEST(ParamCount, WhatTheModelRefusesIsRefusedWithTheSameLine) {
  auto with = [](const std::string& type, const std::function<void(ModelConfig&)>& set) {
    ModelConfig m = small(type);
    set(m);
    return m;
  };
  const std::vector<ModelConfig> bad = {
      with("dense", [](ModelConfig& m) { m.n_head = 3; }),
      with("dense", [](ModelConfig& m) { m.vocab_size = 0; }),
      with("moe", [](ModelConfig& m) { m.ffn.top_k = 5; }),
      with("mask_moe", [](ModelConfig& m) { m.ffn.mask_visible = 5; }),
      with("dsmoe", [](ModelConfig& m) { m.ffn.dsmoe_n = 5; }),
      with("finedeep", [](ModelConfig& m) { m.ffn.finedeep_k = 3; }),
      with("dense", [](ModelConfig& m) { m.attention.unify_group = 2, m.attention.unify_end = 3; }),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    const std::string built = refusal([&] { model::Transformer t(bad[i]); });
    ASSERT_NE(built, "") << "case " << i;
    EXPECT_EQ(refusal([&] { train::count_decoder(bad[i], 16); }), built) << "case " << i;
    EXPECT_EQ(refusal([&] { train::count_decoder(bad[i], 16, /*with_names=*/true); }), built) << "case " << i;
  }
}

TEST(ParamCount, AHugeModelIsCountedWithoutALoopOverItsLayers) {
  ModelConfig m = small("moe");
  m.ffn.moe_layers = "every";
  m.ffn.moe_every = 3;
  auto total = [&](int64_t layers) {
    m.n_layer = layers;
    return train::count_decoder(m, 16)->total;
  };
  // Layers 0, 3, 6, ... are MoE: three layers are one MoE and two dense ones.
  const double per_three = total(4) - total(1), one = total(1);
  EXPECT_EQ(total(3000000001), one + 1000000000 * per_three);
}

TEST(ParamCount, FreezePatternsMatchNamesAsTheEngineDoes) {
  const auto c = train::count_decoder(small("dense"), 16, /*with_names=*/true);
  ASSERT_TRUE(c);
  TrainConfig tc;
  tc.freeze = {"blocks.0.*", "tok_emb.weight"};
  const auto frozen = train::frozen_names(c->names, tc);
  EXPECT_EQ(frozen.size(), 10u);  // tok_emb + block 0: 2 norms, wq wk wv wo, w1 w2 w3
  tc.freeze = {};
  tc.train_only = {"norm.weight"};
  EXPECT_EQ(train::frozen_names(c->names, tc).size(), c->names.size() - 1);
  tc.freeze = {"blocks.9.*"};
  EXPECT_EQ(refusal([&] { train::frozen_names(c->names, tc); }).rfind("train.freeze: pattern 'blocks.9.*' matches no parameter", 0), 0u);
}

TEST(ParamCount, PrintParamsCountsDecoderTasksFromTheConfigAndLeavesTheRestToTheModel) {
  lmlab::test::TempDir dir;
  // model.vocab_size 0 comes from the data's meta.json, and nothing else is read: no shards.
  lmlab::test::write_text(dir.file("meta.json"), R"({"vocab_size": 97, "eot_id": 0, "train": {}, "val": {}})");
  Experiment exp;
  exp.model = small("moe");
  exp.model.vocab_size = 0;
  exp.data.dir = dir.path();
  exp.data.seq_len = 16;
  exp.train.freeze = {"tok_emb.*"};
  const auto text = train::describe_from_config(exp);
  ASSERT_TRUE(text);
  exp.model.vocab_size = 97;
  const auto c = train::count_decoder(exp.model, 16);
  const int64_t total = std::llround(c->total);
  EXPECT_NE(text->find("total_params " + std::to_string(total) + "\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("active_params " + std::to_string(std::llround(c->active)) + "\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("trainable_params " + std::to_string(total - 97 * 32) + "\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("counted_from config (model not built)\n"), std::string::npos) << *text;
  // sft: the vocabulary of data.tokenizer.
  tokenizer::TrainOptions o;
  o.vocab_size = 280;
  o.threads = 1;
  lmlab::test::write_text(dir.file("tok.json"),
                          tokenizer::to_tokenizer_json(tokenizer::train({"the cat sat on the mat"}, o).model));
  exp.run.task = "sft";
  exp.model.vocab_size = 0;
  exp.data.tokenizer = dir.file("tok.json");
  EXPECT_EQ(train::with_decoder_vocab(exp).model.vocab_size,
            static_cast<int64_t>(tokenizer::Tokenizer::load(dir.file("tok.json")).vocab_size()));
  for (const char* task : {"mlm", "classify", "retrieval", "dialmae", "adapt", "fuda"}) {
    Experiment other;
    other.run.task = task;
    other.model.family = "encoder";
    EXPECT_FALSE(train::describe_from_config(other)) << task;
  }
}
