// One initialisation rule for every FFN type (init.h, issue #19): projections into the residual
// stream ~ N(0, (init_std / sqrt(2 n_layer))^2), every other weight matrix ~ N(0, init_std^2),
// biases 0, norm gains 1. Checked on every registered type, so a new type that keeps its own
// constant fails here.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "lmlab/model/ffn.h"
#include "lmlab/model/init.h"

namespace lmlab::model {
namespace {

ModelConfig every_option_on() {
  ModelConfig cfg;
  cfg.arch = "llama";
  cfg.n_layer = 8;  // residual std 0.02 / 4 = 0.005, far from 0.02
  cfg.d_model = 64;
  cfg.vocab_size = 64;
  cfg.init_std = 0.02;
  cfg.ffn.hidden = 256;
  cfg.ffn.n_experts = 4;
  cfg.ffn.top_k = 2;
  cfg.ffn.n_shared = 1;
  cfg.ffn.shared_mix = "coefficient";
  cfg.ffn.mask_visible = 2;
  cfg.ffn.dsmoe_n = 4;
  cfg.ffn.finedeep_m = 2;
  cfg.ffn.finedeep_k = 2;
  return cfg;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The output projections of every FFN type: the dense/DSMoE w2 and every expert bank's w_down.
bool is_residual_projection(const std::string& name) { return ends_with(name, "w2.weight") || ends_with(name, "w_down"); }

// The sample std of t is within 4 standard errors of `want` (se of a std from n draws: want/sqrt(2n)).
void expect_std(const std::string& where, const torch::Tensor& t, double want) {
  const double got = t.detach().to(torch::kDouble).std().item<double>();
  const double tol = 4.0 * want / std::sqrt(2.0 * static_cast<double>(t.numel()));
  EXPECT_NEAR(got, want, tol) << where << " (" << t.numel() << " values)";
  EXPECT_NEAR(t.detach().to(torch::kDouble).mean().item<double>(), 0.0, 4.0 * want / std::sqrt(static_cast<double>(t.numel())))
      << where;
}

TEST(FfnInit, EveryRegisteredTypeFollowsTheOneRule) {
  torch::manual_seed(0);
  const ModelConfig cfg = every_option_on();
  const double weight_std = cfg.init_std, residual_std = residual_init_std(cfg);
  ASSERT_NEAR(residual_std, 0.005, 1e-12);
  const auto names = FfnRegistry::instance().names();
  ASSERT_GE(names.size(), 8u);
  for (const auto& type : names) {
    auto block = FfnRegistry::instance().make(type, cfg, /*layer=*/0);
    int n_residual = 0, n_weight = 0;
    for (const auto& p : block->named_parameters()) {
      const std::string where = type + ": " + p.key();
      if (ends_with(p.key(), "bias")) {
        EXPECT_EQ(p.value().abs().max().item<double>(), 0.0) << where;
      } else if (p.key().find("norm") != std::string::npos) {
        EXPECT_TRUE(torch::equal(p.value(), torch::ones_like(p.value()))) << where;
      } else if (is_residual_projection(p.key())) {
        expect_std(where, p.value(), residual_std);
        ++n_residual;
      } else {
        expect_std(where, p.value(), weight_std);
        ++n_weight;
      }
    }
    EXPECT_GE(n_residual, 1) << type << " has no output projection the test recognises";
    EXPECT_GE(n_weight, 1) << type;
  }
}

TEST(FfnInit, RuleFollowsTheConfigsStdAndDepth) {
  // The MoE blocks take init_std and the depth from the config, not a constant of their own.
  torch::manual_seed(1);
  ModelConfig cfg = every_option_on();
  cfg.init_std = 0.05;
  cfg.n_layer = 2;  // residual 0.05 / 2
  for (const std::string type : {"moe", "dsmoe", "finedeep"}) {
    auto block = FfnRegistry::instance().make(type, cfg, 0);
    for (const auto& p : block->named_parameters())
      if (is_residual_projection(p.key())) expect_std(type + ": " + p.key(), p.value(), 0.025);
  }
  cfg.scaled_residual_init = false;  // then every projection has init_std
  auto block = FfnRegistry::instance().make("moe", cfg, 0);
  expect_std("moe, unscaled: experts.w_down", block->named_parameters()["experts.w_down"], 0.05);
}

}  // namespace
}  // namespace lmlab::model
