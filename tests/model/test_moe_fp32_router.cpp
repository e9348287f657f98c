// Routers stay fp32 under bf16 autocast (moe/fp32_region.h): for every MoE type with a router
// or gate, the router output inside a CPU bf16 autocast region is fp32 and bit-equal to the
// output without autocast. Without the region, autocast runs the router's linear in bf16.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <ATen/autocast_mode.h>

#include "lmlab/model/model_config.h"
#include "lmlab/model/moe/cartesian_moe.h"
#include "lmlab/model/moe/dsmoe.h"
#include "lmlab/model/moe/factory.h"
#include "lmlab/model/moe/routed_moe.h"

namespace lmlab::model::moe {
namespace {

// CPU bf16 autocast for the scope of the object.
class CpuBf16Autocast {
 public:
  CpuBf16Autocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
#else
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
#endif
  }
  ~CpuBf16Autocast() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCPU, false);
#else
    at::autocast::set_cpu_enabled(false);
#endif
    at::autocast::clear_cache();
  }
};

// The router (or gate) output of `block` for the flattened tokens u (N, C).
torch::Tensor router_output(FfnBlockImpl& block, const torch::Tensor& u, const FfnContext& ctx) {
  if (auto* d = dynamic_cast<DsMoeImpl*>(&block)) return d->gates(u);
  if (auto* c = dynamic_cast<CartesianMoeImpl*>(&block)) return c->sub1->route(u, ctx).probs;
  if (auto* r = dynamic_cast<RoutedMoeImpl*>(&block)) return r->route(u, ctx).probs;
  return {};
}

TEST(MoeFp32Router, RouterOutputsUnderBf16AutocastAreFp32AndEqualToNoAutocast) {
  torch::manual_seed(0);
  ModelConfig cfg;
  cfg.d_model = 32;
  cfg.vocab_size = 64;
  cfg.ffn.n_experts = 4;
  cfg.ffn.mask_visible = 2;
  cfg.ffn.hidden = 64;
  cfg.ffn.dsmoe_n = 4;
  const int64_t N = 24;
  FfnContext ctx;
  ctx.token_ids = torch::randint(cfg.vocab_size, {2, N / 2}, torch::kLong);
  auto u = torch::randn({N, cfg.d_model});  // (N, C) fp32, as the block's input under autocast
  int checked = 0;
  for (const std::string type : {"moe", "topp_moe", "mask_moe", "cartesian_moe", "dsmoe"}) {
    cfg.ffn.type = type;
    auto block = make_moe_block(type, cfg, 0);
    ASSERT_NE(block, nullptr) << type;
    torch::NoGradGuard no_grad;
    auto plain = router_output(*block, u, ctx);
    ASSERT_TRUE(plain.defined()) << type;
    torch::Tensor under;
    {
      CpuBf16Autocast autocast;
      under = router_output(*block, u, ctx);
    }
    EXPECT_EQ(under.scalar_type(), torch::kFloat) << type;
    EXPECT_TRUE(torch::equal(under, plain)) << type << ": max diff " << (under - plain).abs().max().item<double>();
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// The region is what keeps them equal: the same linear outside it runs in bf16 under autocast.
TEST(MoeFp32Router, AutocastWithoutTheRegionRunsTheLinearInBf16) {
  auto a = torch::randn({8, 16}), w = torch::randn({4, 16});
  CpuBf16Autocast autocast;
  EXPECT_EQ(torch::linear(a.to(torch::kFloat), w.to(torch::kFloat)).scalar_type(), torch::kBFloat16);
}

}  // namespace
}  // namespace lmlab::model::moe
