// The training-size estimate (size_check.h, issue #23 class 3): the real parameter count for
// every FFN family, absurd sizes refused naming the key to fix, and the memory it is checked
// against (host memory here; a CUDA device's on the GPU machine: scripts/gpu_check_steps.sh).
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/model/ffn.h"
#include "lmlab/model/transformer.h"
#include "lmlab/train/size_check.h"

using namespace lmlab;

namespace {

Experiment small_experiment(const std::string& ffn_type) {
  Experiment e;
  e.model.n_layer = 2;
  e.model.n_head = 2;
  e.model.d_model = 32;
  e.model.vocab_size = 300;
  e.model.max_seq_len = 16;
  e.model.ffn.type = ffn_type;
  e.model.ffn.hidden = 64;
  e.model.ffn.n_experts = 4;
  e.model.ffn.top_k = 2;
  e.model.ffn.n_shared = 1;
  e.model.ffn.moe_every = 1;
  e.model.ffn.mask_visible = 2;
  e.model.ffn.dsmoe_n = 4;
  e.model.ffn.finedeep_m = 2;
  e.model.ffn.finedeep_k = 2;
  e.data.seq_len = 16;
  return e;
}

std::string refusal(const Experiment& e, double memory) {
  try {
    train::check_training_size(e, train::host_memory(memory));
  } catch (const UserError& err) {
    return err.what();
  }
  return "";
}

}  // namespace

TEST(SizeCheck, TheEstimateCountsTheRealParameters) {
  const auto types = model::FfnRegistry::instance().names();
  ASSERT_GE(types.size(), 8u);
  for (const std::string& type : types) {
    const Experiment e = small_experiment(type);
    int64_t real = 0;
    for (const auto& p : model::Transformer(e.model)->parameters()) real += p.numel();
    EXPECT_EQ(train::estimate_training_size(e).params, static_cast<double>(real)) << type;
  }
  // A model its constructor refuses keeps the upper bound (the refusal comes when it is built).
  Experiment odd = small_experiment("dense");
  odd.model.n_head = 3;
  EXPECT_GT(train::estimate_training_size(odd).params, 0);
}

TEST(SizeCheck, AbsurdSizesAreRefusedNamingTheKey) {
  const double memory = 16.0 * (1ull << 30);  // a 16 GiB machine, whatever this one has
  EXPECT_EQ(refusal(small_experiment("dense"), memory), "");
  auto with = [](auto set) {
    Experiment e = small_experiment("moe");
    set(e);
    return e;
  };
  const std::vector<std::pair<Experiment, std::string>> cases = {
      {with([](Experiment& e) { e.model.n_layer = 1000000; }), "model.n_layer = 1000000: "},
      {with([](Experiment& e) { e.train.batch_size = 1000000000; }), "train.batch_size = 1000000000: "},
      {with([](Experiment& e) { e.model.ffn.n_experts = 1000000; }), "model.ffn.n_experts = 1000000: "},
      {with([](Experiment& e) { e.model.d_model = 65536, e.model.n_head = 1; }), "model.d_model = 65536: "},
      {with([](Experiment& e) { e.model.vocab_size = 2000000000; }), "model.vocab_size = 2000000000: "},
      {with([](Experiment& e) { e.model.ffn.hidden = 1000000000; }), "model.ffn.hidden = 1000000000: "},
      // gpt2's position table (a llama has none: its max_seq_len allocates nothing).
      {with([](Experiment& e) { e.model.arch = "gpt2", e.model.max_seq_len = 1000000000; }), "model.max_seq_len = 1000000000: "},
  };
  for (const auto& [e, key] : cases) {
    const std::string err = refusal(e, memory);
    EXPECT_EQ(err.rfind(key, 0), 0u) << err;
    EXPECT_NE(err.find("more than this machine's 16.0 GiB of memory"), std::string::npos) << err;
  }
}

TEST(SizeCheck, TheLimitIsTheMemoryTheRunTrainsIn) {
  // This build has no CUDA device: every device choice trains in host memory.
  const train::MemoryLimit host = train::host_memory();
  EXPECT_GT(host.bytes, 0);
  EXPECT_EQ(host.what.rfind("this machine's ", 0), 0u) << host.what;
  if (!torch::cuda::is_available()) {
    for (const char* device : {"auto", "cpu", "cuda"}) EXPECT_EQ(train::training_memory(device).what, host.what) << device;
  }
  EXPECT_EQ(train::training_memory("cpu").what, host.what);
  // A device's limit is named as the device's.
  Experiment big = small_experiment("dense");
  big.model.n_layer = 1000000;
  std::string err;
  try {
    train::check_training_size(big, {8.0 * (1ull << 30), "CUDA device 0's 8.0 GiB of device memory (test)"});
  } catch (const UserError& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("more than CUDA device 0's 8.0 GiB of device memory (test)"), std::string::npos) << err;
  EXPECT_EQ(refusal(small_experiment("dense"), 8.0 * (1ull << 30)), "");
}
