// The engine with a task written here, in-process: a task that overrides train_step to take
// two optimizer steps per iteration gets exactly that (the optimizer's step count and the
// learned weight show it), and its frozen parameters stay bit-identical.
#include <gtest/gtest.h>

#include "lmlab/model/safetensors.h"
#include "lmlab/train/engine.h"
#include "testing.h"

using namespace lmlab::train;

namespace {

// Learns y = 2x with one weight `w`; `frozen` never trains (frozen_patterns).
class TwoUpdateTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    torch::manual_seed(1);
    w_ = module_.register_parameter("w", torch::zeros({1}));
    frozen_ = module_.register_parameter("frozen", torch::randn({3}));
    source_ = std::make_unique<lmlab::data::CollatedSource>(
        lmlab::data::RecordSampler(16, 4, 7, env.rank, env.world_size), [](const std::vector<int64_t>& idx) {
          lmlab::data::NamedBatch b;
          b.tensors["x"] = torch::tensor(idx, torch::kFloat32) / 16.0 + 0.5;  // (B)
          return b;
        });
  }
  torch::nn::Module& module() override { return module_; }
  std::vector<std::string> frozen_patterns() const override { return {"frozen"}; }
  lmlab::data::BatchSource& train_source() override { return *source_; }
  LossOutput loss(const lmlab::data::NamedBatch& b) override {
    const torch::Tensor& x = b.at("x");
    LossOutput out;
    out.loss = (w_ * x - 2 * x).pow(2).mean() + 0 * frozen_.sum();
    return out;
  }
  void train_step(StepEnv& s) override {  // two optimizer steps on two batches
    for (int i = 0; i < 2; ++i) {
      s.backward(loss(s.next_batch()));
      s.update();
    }
  }
  nlohmann::json evaluate(TaskEnv&) override { return {{"val_loss", (w_ - 2).abs().item<double>()}}; }
  double train_flops_per_unit() const override { return 0; }
  std::string describe() override { return ""; }

  torch::nn::Module module_;
  torch::Tensor w_, frozen_;
  std::unique_ptr<lmlab::data::CollatedSource> source_;
};

}  // namespace

TEST(Engine, ATaskStepMayUpdateTwiceAndFrozenParametersStayPut) {
  lmlab::test::TempDir dir;
  lmlab::Experiment exp;
  exp.run.out_dir = dir.file("run");
  exp.train.steps = 5;
  exp.train.lr = 0.1;
  exp.train.warmup_steps = 0;
  exp.train.schedule = "constant";
  exp.train.weight_decay = 0;
  exp.train.batch_size = 4;
  exp.eval.every = 0;
  TwoUpdateTask task;
  TrainResult r = run_engine(task, exp, false);
  EXPECT_EQ(r.steps, 5);
  auto opt = lmlab::model::load_safetensors(r.checkpoint + "/optimizer.safetensors");
  bool found = false;
  for (const auto& [name, t] : opt)
    if (name == "step") {
      found = true;
      EXPECT_EQ(t.item<int64_t>(), 10);  // two AdamW steps per engine step
    } else {
      EXPECT_EQ(name.find("frozen"), std::string::npos) << name;  // no state for frozen parameters
    }
  EXPECT_TRUE(found);
  auto model = lmlab::model::load_safetensors(r.checkpoint + "/model.safetensors");
  for (const auto& [name, t] : model) {
    if (name == "frozen") {
      torch::manual_seed(1);  // as setup() drew it
      EXPECT_TRUE(torch::equal(t, torch::randn({3})));
    }
    // Adam moves a consistently signed gradient's weight by about lr per step: 10 steps, not 5.
    if (name == "w") {
      EXPECT_NEAR(t.item<double>(), 1.0, 0.15);
    }
  }
}
