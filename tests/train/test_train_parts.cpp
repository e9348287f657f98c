// Trainer parts that need no model: schedule, AdamW against torch's own, clipping,
// checkpoint directories, and c10d data parallelism (two ranks as threads over loopback).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <future>
#include <random>
#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/distributed.h"
#include "lmlab/train/optimizer.h"
#include "lmlab/train/schedule.h"
#include "testing.h"

using namespace lmlab::train;
using lmlab::test::TempDir;

TEST(Schedule, WarmupCosineAndWsdShapes) {
  lmlab::TrainConfig c;
  c.lr = 1.0;
  c.min_lr_ratio = 0.1;
  c.warmup_steps = 10;
  c.steps = 110;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(c, 9), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 10), 1.0);
  EXPECT_NEAR(learning_rate(c, 60), 0.55, 1e-12);  // half way: (max + min) / 2
  EXPECT_NEAR(learning_rate(c, 110), 0.1, 1e-12);
  for (int64_t s = 11; s < 110; ++s) EXPECT_LE(learning_rate(c, s), learning_rate(c, s - 1));
  c.schedule = "wsd";
  c.decay_fraction = 0.2;  // decay over steps 88..109
  EXPECT_DOUBLE_EQ(learning_rate(c, 50), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(c, 87), 1.0);
  EXPECT_LT(learning_rate(c, 88), 1.0);
  EXPECT_NEAR(learning_rate(c, 109), 0.1, 1e-12);
  c.schedule = "constant";
  EXPECT_DOUBLE_EQ(learning_rate(c, 100), 1.0);
}

TEST(AdamW, MatchesTorchAdamWAndSkipsDecayOn1D) {
  lmlab::TrainConfig c;
  c.weight_decay = 0.1;
  torch::manual_seed(0);
  torch::Tensor w = torch::randn({4, 3}, torch::requires_grad()), b = torch::randn({3}, torch::requires_grad());
  torch::Tensor w2 = w.detach().clone().requires_grad_(), b2 = b.detach().clone().requires_grad_();
  AdamW mine({{"w", w}, {"b", b}}, c);
  EXPECT_TRUE(mine.decays(0));
  EXPECT_FALSE(mine.decays(1));
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{w2},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{b2},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(0.01).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0)));
  torch::optim::AdamW ref(groups);
  torch::Tensor x = torch::randn({5, 4});
  for (int i = 0; i < 5; ++i) {
    mine.zero_grad();
    ref.zero_grad();
    (torch::tanh(x.mm(w) + b)).pow(2).sum().backward();
    (torch::tanh(x.mm(w2) + b2)).pow(2).sum().backward();
    mine.step(0.01);
    ref.step();
    EXPECT_TRUE(torch::allclose(w, w2, 1e-6, 1e-7)) << i;
    EXPECT_TRUE(torch::allclose(b, b2, 1e-6, 1e-7)) << i;
  }
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  lmlab::TrainConfig c;
  torch::manual_seed(1);
  torch::Tensor w = torch::randn({3, 3}, torch::requires_grad());
  AdamW a({{"w", w}}, c);
  auto step = [](AdamW& opt, torch::Tensor& p) {
    opt.zero_grad();
    p.pow(3).sum().backward();
    opt.step(1e-2);
  };
  step(a, w);
  step(a, w);
  torch::Tensor w2 = w.detach().clone().requires_grad_();
  AdamW b({{"w", w2}}, c);
  b.load(a.state(), "opt.safetensors");
  EXPECT_EQ(b.steps_taken(), 2);
  step(a, w);
  step(b, w2);
  EXPECT_TRUE(torch::equal(w, w2));
  AdamW other({{"v", torch::zeros({3, 3}, torch::requires_grad())}}, c);
  EXPECT_THROW(other.load(a.state(), "opt.safetensors"), lmlab::UserError);
}

TEST(ClipGradNorm, TheGlobalNormAndTheFactorThatBringsItToTheLimit) {
  torch::Tensor a = torch::zeros({2}, torch::requires_grad()), b = torch::zeros({1}, torch::requires_grad());
  torch::Tensor unused = torch::zeros({3}, torch::requires_grad());  // no gradient: skipped
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  EXPECT_NEAR(global_grad_norm({a, b, unused}), 5.0, 1e-6);
  EXPECT_DOUBLE_EQ(clip_scale(5.0, 1.0), 1.0 / (5.0 + 1e-6));  // torch.nn.utils.clip_grad_norm_'s factor
  EXPECT_EQ(clip_scale(5.0, 10.0), 1.0);                       // under the limit: untouched
  EXPECT_EQ(clip_scale(5.0, 0.0), 1.0);                        // 0 = off
  EXPECT_EQ(global_grad_norm({unused}), 0.0);
}

// The clipping factor folded into the fused update equals scaling the gradients first.
TEST(AdamW, GradScaleEqualsScaledGradients) {
  lmlab::TrainConfig c;
  torch::manual_seed(3);
  torch::Tensor w = torch::randn({300, 70}, torch::requires_grad());
  torch::Tensor w2 = w.detach().clone().requires_grad_();
  AdamW folded({{"w", w}}, c), scaled({{"w", w2}}, c);
  for (int i = 0; i < 3; ++i) {
    torch::Tensor g = torch::randn({300, 70});
    w.mutable_grad() = g.clone();
    w2.mutable_grad() = g * 0.25;
    folded.step(1e-2, 0.25);
    scaled.step(1e-2);
    EXPECT_TRUE(torch::equal(w, w2)) << i;
  }
}

TEST(Checkpoint, WriteFindLatestReadAndPrune) {
  TempDir run;
  lmlab::test::write_text(run.file("tok.json"), "{\"tokenizer\": 1}");
  for (int64_t step : {10, 20, 30}) {
    CheckpointData d{"[run]\nseed = 1\n", {{"w", torch::full({2}, static_cast<float>(step))}},
                     {{"step", torch::tensor(step)}}, {{"step", step}}, run.file("tok.json")};
    write_checkpoint(run.path(), step, d, 2);
  }
  std::string latest = latest_checkpoint(run.path());
  EXPECT_EQ(std::filesystem::path(latest).filename(), "step_00000030");
  EXPECT_FALSE(std::filesystem::exists(run.path() + "/checkpoints/step_00000010"));
  EXPECT_TRUE(std::filesystem::exists(run.path() + "/checkpoints/step_00000020"));
  EXPECT_EQ(resolve_checkpoint(run.path()), latest);
  EXPECT_EQ(resolve_checkpoint(latest), latest);
  CheckpointData back = read_checkpoint(latest);
  EXPECT_EQ(back.trainer["step"], 30);
  EXPECT_TRUE(torch::equal(back.model[0].second, torch::full({2}, 30.0f)));
  EXPECT_EQ(lmlab::test::read_text(back.tokenizer_path), "{\"tokenizer\": 1}");
  EXPECT_EQ(back.config_toml, "[run]\nseed = 1\n");
  // A stale `latest` (crash between the directory and the pointer) falls back to the newest.
  lmlab::test::write_text(run.path() + "/checkpoints/latest", "step_00000010\n");
  EXPECT_EQ(latest_checkpoint(run.path()), latest);
  TempDir empty;
  EXPECT_THROW(resolve_checkpoint(empty.path()), lmlab::UserError);
}

namespace {

int free_port() {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()));
  return 20000 + static_cast<int>(rng() % 20000);
}

RankInfo rank(int r, int world, int port) {
  RankInfo i;
  i.rank = r;
  i.world_size = world;
  i.local_rank = r;
  i.master_port = port;
  return i;
}

}  // namespace

TEST(Distributed, TwoGlooRanksAverageGradientsAndLosses) {
  const int port = free_port();
  auto worker = [port](int r) {
    Distributed d(rank(r, 2, port), torch::kCPU, 30);
    EXPECT_EQ(d.backend(), "gloo");
    torch::Tensor p = torch::zeros({2, 3}, torch::requires_grad());
    p.mutable_grad() = torch::full({2, 3}, static_cast<float>(r + 1));
    d.average_gradients({p});
    std::vector<torch::Tensor> b = {torch::full({2}, static_cast<float>(10 * (r + 1)))};
    d.broadcast(b);
    double m = d.mean(torch::tensor(static_cast<double>(r))).item<double>();
    d.barrier();
    return std::make_tuple(p.grad().mean().item<double>(), b[0][0].item<double>(), m);
  };
  auto f0 = std::async(std::launch::async, worker, 0);
  auto f1 = std::async(std::launch::async, worker, 1);
  for (auto* f : {&f0, &f1}) {
    auto [g, b, m] = f->get();
    EXPECT_DOUBLE_EQ(g, 1.5);   // (1 + 2) / 2
    EXPECT_DOUBLE_EQ(b, 10.0);  // rank 0's value
    EXPECT_DOUBLE_EQ(m, 0.5);
  }
}

TEST(Distributed, DeadPeerFailsTheCollectiveInsteadOfHanging) {
  const int port = free_port();
  auto survivor = std::async(std::launch::async, [port] {
    Distributed d(rank(0, 2, port), torch::kCPU, 5);
    d.barrier();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the peer is gone by now
    std::vector<torch::Tensor> t = {torch::ones({4})};
    auto t0 = std::chrono::steady_clock::now();
    std::string error;
    try {
      d.all_reduce_sum(t);
    } catch (const std::exception& e) {
      error = e.what();
    }
    return std::make_pair(error, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  });
  {
    Distributed peer(rank(1, 2, port), torch::kCPU, 5);
    peer.barrier();
  }  // the peer's process group is destroyed: its sockets close
  auto [error, seconds] = survivor.get();
  EXPECT_NE(error.find("data-parallel rank 0"), std::string::npos) << error;
  EXPECT_LT(seconds, 30.0);
}

TEST(Distributed, TheFirstDifferenceOfTwoConfigsNamesItsKey) {
  const std::string a = "[run]\nseed = 1\n[model]\nd_model = 32\nn_head = 2\n";
  EXPECT_EQ(first_toml_difference(a, a), "");
  EXPECT_EQ(first_toml_difference(a, "[run]\nseed = 1\n[model]\nd_model = 16\nn_head = 2\n"), "model.d_model is 32 here but 16");
  EXPECT_EQ(first_toml_difference(a, "[run]\nseed = 1\n[model]\nd_model = 32\n"), "line 5 is 'n_head = 2' here but ''");
  EXPECT_EQ(first_toml_difference("[run]\nseed = 1\n", "[data]\nseed = 1\n"), "line 1 is '[run]' here but '[data]'");
}

TEST(Distributed, RanksCompareTheirConfigsAndEachRefusesADifference) {
  const int port = free_port();
  auto worker = [port](int r, const std::string& text) {
    Distributed d(rank(r, 2, port), torch::kCPU, 30);
    d.check_same("same", "[train]\nlr = 0.1\n");  // equal: passes
    try {
      d.check_same("config", text);
    } catch (const lmlab::UserError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto f0 = std::async(std::launch::async, worker, 0, "[train]\nlr = 0.1\nsteps = 5\n");
  auto f1 = std::async(std::launch::async, worker, 1, "[train]\nlr = 0.1\nsteps = 6\n");
  EXPECT_EQ(f0.get(), "data-parallel rank 0: the config differs from rank 1's: train.steps is 5 here but 6 on rank 1 "
                      "(every rank must train the same run)");
  EXPECT_NE(f1.get().find("rank 1: the config differs from rank 0's: train.steps is 6 here but 5 on rank 0"), std::string::npos);
}

TEST(Distributed, EnvironmentIsValidated) {
  ::setenv("WORLD_SIZE", "2", 1);
  ::setenv("RANK", "2", 1);
  EXPECT_THROW(rank_info_from_env(), lmlab::UserError);
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(rank_info_from_env(), lmlab::UserError);
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_PORT", "1234", 1);
  RankInfo r = rank_info_from_env();
  EXPECT_EQ(r.rank, 1);
  EXPECT_EQ(r.world_size, 2);
  EXPECT_EQ(r.master_port, 1234);
  for (const char* v : {"WORLD_SIZE", "RANK", "MASTER_PORT"}) ::unsetenv(v);
  EXPECT_EQ(rank_info_from_env().world_size, 1);
}
