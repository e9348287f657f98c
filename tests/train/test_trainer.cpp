// `lmlab train` end to end on a tiny model and synthetic token shards (seconds each):
// learning, the run directory's files, init_from (dense -> DSMoE), `eval --tasks val` against the
// run's own validation loss, exact resume after kill -9, 2-rank Gloo equivalence
// with 1 rank (also under torchrun's agent store), a dead rank failing the other, ranks that differ
// or never join refused, divergence and bad-input errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>

#include "lmlab/data/shards.h"
#include "lmlab/model/safetensors.h"
#include "testing.h"
#include "train_test_util.h"

using lmlab::test::read_jsonl;
using lmlab::test::run_lmlab;
using lmlab::test::step_lines;
using lmlab::test::TempDir;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir dir;
  Fixture() {
    lmlab::test::write_synthetic_shards(dir);
    lmlab::test::write_text(dir.file("tiny.toml"), "[run]\nseed = 3\n[data]\ndir = \"" + dir.path() +
                                                       "\"\nseq_len = 16\n[model]\nn_layer = 2\nn_head = 2\n"
                                                       "d_model = 32\nmax_seq_len = 16\n[train]\nsteps = 12\n"
                                                       "lr = 1e-2\nwarmup_steps = 3\nbatch_size = 4\nlog_every = 1\n"
                                                       "checkpoint_every = 4\n[eval]\nevery = 6\nwindows = 8\n");
  }
  std::string train_args(const std::string& run, const std::string& extra = "") const {
    return "train --config " + dir.file("tiny.toml") + " --set run.out_dir=" + dir.file(run) + " " + extra;
  }
};

// Runs a shell command line (several lmlab processes at once) and captures its output.
lmlab::test::RunResult run_shell(const std::string& command) {
  TempDir tmp;
  std::string cmd = "(export LMLAB_PROGRESS=plain; " + command + ") >" + tmp.file("out") + " 2>" + tmp.file("err");
  int status = std::system(cmd.c_str());
  lmlab::test::RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = lmlab::test::read_text(tmp.file("out"));
  r.err = lmlab::test::read_text(tmp.file("err"));
  return r;
}

std::string exe() { return std::string("'") + LMLAB_EXE + "' "; }

// Ranks 0 and 1 of `lmlab <args>` side by side with `env` (address, port, world size, ...);
// exit status 0 only when both succeed; rank 1's stderr is appended to the result's err.
lmlab::test::RunResult run_two_ranks(const Fixture& f, const std::string& env, const std::string& args) {
  auto r = run_shell(env + "RANK=1 " + exe() + args + " 2>" + f.dir.file("rank1.err") + " & " + env + "RANK=0 " +
                     exe() + args + "; s=$?; wait $! || s=1; exit $s");
  r.err += lmlab::test::read_text(f.dir.file("rank1.err"));
  return r;
}

}  // namespace

TEST(Trainer, TinyModelLearnsAndWritesTheRunDirectory) {
  Fixture f;
  auto r = run_lmlab(f.train_args("run", "--set train.steps=40 --set eval.every=20"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto steps = step_lines(f.dir.file("run"));
  ASSERT_EQ(steps.size(), 40u);
  EXPECT_LT(steps.back()["loss"].get<double>(), steps.front()["loss"].get<double>() - 0.5);
  for (const char* key : {"step", "tokens", "loss", "lr", "grad_norm"}) EXPECT_TRUE(steps[0].contains(key)) << key;
  EXPECT_EQ(steps[0]["tokens"], 4 * 16);
  auto pos = read_jsonl(f.dir.file("run/position_loss.jsonl"));
  ASSERT_EQ(pos.size(), 2u);
  EXPECT_EQ(pos[1]["step"], 40);
  ASSERT_EQ(pos[1]["position_loss"].size(), 16u);
  double mean = 0;
  for (double l : pos[1]["position_loss"]) mean += l / 16;
  EXPECT_NEAR(mean, pos[1]["loss"].get<double>(), 1e-9);
  EXPECT_TRUE(std::ifstream(f.dir.file("run/checkpoints/step_00000040/model.safetensors")).good());
  EXPECT_NE(r.out.find("checkpoint:"), std::string::npos);
  // A second run into the same directory must not silently overwrite it.
  auto again = run_lmlab(f.train_args("run"));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
}

// The synthetic data never uses ids 60-62 and uses 63 most: the trainer must hand MaskMoE the
// training counts, so the unseen ids reach exactly one expert and the frequent one reaches V.
TEST(Trainer, MaskMoeGetsTokenFrequenciesFromTheTrainingShard) {
  Fixture f;
  auto r = run_lmlab(f.train_args("mask", "--set train.steps=2 --set model.ffn.type=mask_moe --set model.ffn.n_experts=4 "
                                          "--set model.ffn.mask_visible=3 --set model.ffn.mask_frequent_share=0.2"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tensors = lmlab::model::load_safetensors(f.dir.file("mask/checkpoints/step_00000002/model.safetensors"));
  int masks = 0;
  for (const auto& [name, t] : tensors) {
    if (name.find("routing_mask") == std::string::npos) continue;
    ++masks;
    torch::Tensor visible = t.isfinite().sum(1);  // (vocab): experts each token may reach
    for (int64_t id : {60, 61, 62}) EXPECT_EQ(visible[id].item<int64_t>(), 1) << name << " id " << id;
    EXPECT_EQ(visible[63].item<int64_t>(), 3) << name;
  }
  EXPECT_GT(masks, 0);
  EXPECT_TRUE(std::ifstream(f.dir.file("mask/plots/expert_load.png")).good());  // gnuplot is a setup.sh package
}

// DSMoE's continued pre-training: a dsmoe run starts from a dense run's weights (same names; the
// gates are new). With lr = 0 the first step changes nothing, so every copied tensor must equal
// the dense checkpoint's and the gates must exist; a model of another width is refused.
TEST(Trainer, InitFromCopiesADenseRunIntoADsmoeRun) {
  Fixture f;
  auto dense = run_lmlab(f.train_args("dense", "--set train.steps=4 --set model.ffn.hidden=64"));
  ASSERT_EQ(dense.exit_code, 0) << dense.err;
  auto r = run_lmlab(f.train_args("ds", "--set train.steps=1 --set train.lr=0 --set model.ffn.type=dsmoe "
                                        "--set model.ffn.hidden=64 --set model.ffn.dsmoe_n=4 --set train.init_from=" +
                                        f.dir.file("dense")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("2 keep their init"), std::string::npos) << r.err;  // one gate per layer
  auto before = lmlab::model::load_safetensors(f.dir.file("dense/checkpoints/step_00000004/model.safetensors"));
  auto after = lmlab::model::load_safetensors(f.dir.file("ds/checkpoints/step_00000001/model.safetensors"));
  std::map<std::string, torch::Tensor> ds(after.begin(), after.end());
  for (const auto& [name, t] : before) {
    ASSERT_TRUE(ds.count(name)) << name;
    EXPECT_TRUE(torch::equal(ds[name], t)) << name;
  }
  EXPECT_EQ(ds.size(), before.size() + 2);
  EXPECT_TRUE(ds.count("blocks.0.ffn.gate.weight") || ds.count("layers.blocks.0.ffn.gate.weight")) << after.size();

  auto wider = run_lmlab(f.train_args("wide", "--set train.steps=1 --set model.d_model=48 --set train.init_from=" +
                                                  f.dir.file("dense")));
  EXPECT_EQ(wider.exit_code, 2);
  EXPECT_NE(wider.err.find("has shape"), std::string::npos) << wider.err;
}

// `lmlab eval --tasks val` scores the run's own validation shard: over the trainer's 8 windows it
// must reproduce the final val_loss, and it reports bucket perplexities and, for the dense FFN,
// the near-zero activation share. --set changes the model before it is built: disabling each
// token's top-1 expert must change an MoE model's loss; an unknown key is exit 2.
TEST(Trainer, EvalValTaskReproducesTheRunsValidationLoss) {
  Fixture f;
  ASSERT_EQ(run_lmlab(f.train_args("run", "--set train.steps=6")).exit_code, 0);
  double val_loss = 0;
  for (const json& j : read_jsonl(f.dir.file("run/metrics.jsonl")))
    if (j.contains("val_loss")) val_loss = j["val_loss"].get<double>();
  auto r = run_lmlab("eval --checkpoint " + f.dir.file("run") + " --tasks val --limit 8 --output " + f.dir.file("e.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json val = json::parse(lmlab::test::read_text(f.dir.file("e.json")))["checkpoints"][0]["results"]["val"];
  EXPECT_NEAR(val["loss"].get<double>(), val_loss, 1e-5);
  EXPECT_EQ(val["n"], 8);
  EXPECT_NEAR(val["share_high"].get<double>() + val["share_medium"].get<double>() + val["share_low"].get<double>(), 1.0, 1e-9);
  EXPECT_GT(val["ppl_low"].get<double>(), 0.0);
  EXPECT_GE(val["near_zero_share"].get<double>(), 0.0);
  EXPECT_LE(val["near_zero_share"].get<double>(), 1.0);

  ASSERT_EQ(run_lmlab(f.train_args("moe", "--set train.steps=2 --set model.ffn.type=moe --set model.ffn.n_experts=4")).exit_code, 0);
  auto loss_of = [&](const std::string& extra) {
    auto e = run_lmlab("eval --checkpoint " + f.dir.file("moe") + " --tasks val --limit 4 --output " + f.dir.file("m.json") + extra);
    EXPECT_EQ(e.exit_code, 0) << e.err;
    return json::parse(lmlab::test::read_text(f.dir.file("m.json")))["checkpoints"][0]["results"]["val"]["loss"].get<double>();
  };
  EXPECT_GT(std::abs(loss_of(" --set model.ffn.disable_top1=true") - loss_of("")), 1e-6);
  auto experts_per_token = [&] {
    return json::parse(lmlab::test::read_text(f.dir.file("m.json")))["checkpoints"][0]["results"]["val"]["experts_per_token"]
        .get<double>();
  };
  EXPECT_DOUBLE_EQ(experts_per_token(), 2.0);  // top-2, dropless: the nominal count exactly
  // Top-p's count is measured, not nominal: between 1 and all 4 experts per token.
  ASSERT_EQ(run_lmlab(f.train_args("topp", "--set train.steps=2 --set model.ffn.type=topp_moe "
                                           "--set model.ffn.n_experts=4")).exit_code, 0);
  ASSERT_EQ(run_lmlab("eval --checkpoint " + f.dir.file("topp") + " --tasks val --limit 4 --output " + f.dir.file("m.json"))
                .exit_code, 0);
  EXPECT_GE(experts_per_token(), 1.0);
  EXPECT_LE(experts_per_token(), 4.0);
  auto bad = run_lmlab("eval --checkpoint " + f.dir.file("moe") + " --tasks val --set model.ffn.no_such_key=1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no_such_key"), std::string::npos) << bad.err;
}

TEST(Trainer, ResumeAfterKillIsBitIdentical) {
  Fixture f;
  auto full = run_lmlab(f.train_args("full", "--set model.dropout=0.1"));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  // Killed (SIGKILL) after step 6: the last checkpoint is step 4, so steps 5-6 are redone.
  auto killed = run_shell("LMLAB_TEST_KILL_AFTER_STEP=6 " + exe() + f.train_args("cut", "--set model.dropout=0.1"));
  EXPECT_NE(killed.exit_code, 0);
  auto resumed = run_lmlab(f.train_args("cut", "--resume --set model.dropout=0.1"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from"), std::string::npos);
  auto a = step_lines(f.dir.file("full")), b = step_lines(f.dir.file("cut"));
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].dump(), b[i].dump()) << "step " << i + 1;
  EXPECT_EQ(lmlab::test::read_text(f.dir.file("full/position_loss.jsonl")),
            lmlab::test::read_text(f.dir.file("cut/position_loss.jsonl")));
}

TEST(Trainer, TwoGlooRanksMatchOneRankWithTheSameGlobalBatch) {
  Fixture f;
  auto one = run_lmlab(f.train_args("one", "--set train.steps=6 --set train.cpu_ranks=1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  int port = 20000 + static_cast<int>(::getpid() % 20000);
  std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 ";
  std::string args = f.train_args("two", "--set train.steps=6 --set train.batch_size=2");
  auto two = run_two_ranks(f, env, args);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  auto a = step_lines(f.dir.file("one")), b = step_lines(f.dir.file("two"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << i;
    EXPECT_NEAR(a[i]["grad_norm"].get<double>(), b[i]["grad_norm"].get<double>(), 1e-4) << i;
  }
}

TEST(Trainer, TwoRanksJoinTorchrunsAgentStore) {
  // torchrun's agent serves the TCPStore at MASTER_PORT itself and says so with
  // TORCHELASTIC_USE_AGENT_STORE=True; a rank 0 that served one too would fail to bind the port.
  Fixture f;
  auto one = run_lmlab(f.train_args("one", "--set train.steps=3 --set train.cpu_ranks=1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  int port = 20000 + static_cast<int>((::getpid() + 3331) % 20000);
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.isServer = true;
  opts.waitWorkers = false;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  opts.useLibUV = false;  // libuv is the 2.4+ default, and builds without it (Debian's) refuse it
#endif
  auto agent = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", opts);
  std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
                    " WORLD_SIZE=2 TORCHELASTIC_USE_AGENT_STORE=True TORCHELASTIC_RESTART_COUNT=0 ";
  std::string args = f.train_args("two", "--set train.steps=3 --set train.batch_size=2");
  auto two = run_two_ranks(f, env, args);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  auto a = step_lines(f.dir.file("one")), b = step_lines(f.dir.file("two"));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << i;
}

TEST(Trainer, DeadRankMakesTheOtherExitWithAnError) {
  Fixture f;
  int port = 20000 + static_cast<int>((::getpid() + 7919) % 20000);
  std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 ";
  std::string args = f.train_args("dead", "--set train.steps=200 --set train.dist_timeout_s=20");
  auto r = run_shell(env + "RANK=1 LMLAB_TEST_KILL_AFTER_STEP=2 " + exe() + args + " 2>/dev/null & " + env +
                     "RANK=0 timeout 60 " + exe() + args);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // an error, not the timeout's 124
  EXPECT_NE(r.err.find("data-parallel rank 0"), std::string::npos) << r.err;
}

// Issue #23 class 7: ranks that would train different runs refuse before the first step, each
// naming the first differing key; a rank that never joins is named within the timeout, once.
TEST(Trainer, RanksWithDifferentConfigsRefuseToTrainNamingTheKey) {
  Fixture f;
  int port = 20000 + static_cast<int>((::getpid() + 1543) % 20000);
  std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 ";
  std::string args = f.train_args("diff", "--set train.steps=2 --set train.dist_timeout_s=20");
  auto r = run_shell(env + "RANK=1 " + exe() + args + " --set model.d_model=16 2>" + f.dir.file("rank1.err") + " & " +
                     env + "RANK=0 " + exe() + args + "; s=$?; wait $!; exit $((s * 10 + $?))");
  const std::string rank1 = lmlab::test::read_text(f.dir.file("rank1.err"));
  EXPECT_EQ(r.exit_code, 22) << r.err << rank1;  // both ranks: exit 2
  EXPECT_NE(r.err.find("lmlab: error: data-parallel rank 0: the config differs from rank 1's: model.d_model is 32 here "
                       "but 16 on rank 1"), std::string::npos) << r.err;
  EXPECT_NE(rank1.find("model.d_model is 16 here but 32 on rank 0"), std::string::npos) << rank1;
  EXPECT_FALSE(std::filesystem::exists(f.dir.file("diff/checkpoints"))) << "nothing trained";
}

TEST(Trainer, ARankThatNeverJoinsTheRendezvousIsNamedWithinTheTimeout) {
  Fixture f;
  for (int rank : {0, 1}) {  // rank 0 waits for rank 1; rank 1 finds no store to join
    int port = 20000 + static_cast<int>((::getpid() + 2699 + rank) % 20000);
    std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) + " WORLD_SIZE=2 RANK=" +
                      std::to_string(rank) + " ";
    const auto start = std::chrono::steady_clock::now();
    auto r = run_shell(env + "timeout 60 " + exe() + f.train_args("alone", "--set train.dist_timeout_s=4"));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(r.exit_code, 2) << r.err;
    const std::string where = "rendezvous at 127.0.0.1:" + std::to_string(port) + ": ";
    EXPECT_NE(r.err.find(where + (rank == 0 ? "rank 1 did not join within 4 s" : "rank 0's store did not answer within 4 s")),
              std::string::npos) << r.err;
    EXPECT_EQ(r.err.rfind("lmlab: error: ", 0), 0u) << "one line, no libtorch log or backtrace: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_LT(seconds, 8.0) << "the timeout once, not twice";
  }
}

TEST(Trainer, DivergenceStopsWithTheLastGoodCheckpoint) {
  Fixture f;
  auto r = run_lmlab(f.train_args("nan", "--set train.lr=1e30 --set train.warmup_steps=0 --set train.grad_clip=0"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("training diverged at step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last good state"), std::string::npos) << r.err;
}

TEST(Trainer, BadInputsAreExit2WithOneLine) {
  Fixture f;
  auto unknown = run_lmlab(f.train_args("x", "--set train.stepz=3"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("train.steps"), std::string::npos) << unknown.err;
  auto missing = run_lmlab(f.train_args("x", "--set data.dir=" + f.dir.file("nodata")));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("meta.json"), std::string::npos) << missing.err;
  auto no_ckpt = run_lmlab(f.train_args("fresh", "--resume"));
  EXPECT_EQ(no_ckpt.exit_code, 2);
  EXPECT_NE(no_ckpt.err.find("no checkpoint"), std::string::npos) << no_ckpt.err;
  auto params = run_lmlab(f.train_args("x", "--print-params"));
  EXPECT_EQ(params.exit_code, 0) << params.err;
  EXPECT_NE(params.out.find("total_params"), std::string::npos);
  EXPECT_NE(params.out.find("train_flops_per_token"), std::string::npos);
}
