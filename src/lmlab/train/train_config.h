// [run] and [train] config sections (see lmlab/config/config.h for how keys are declared).
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/train/loss_config.h"

namespace lmlab {

struct RunConfig {
  std::string out_dir = "runs/default";
  int64_t seed = 1337;
  std::string device = "auto";

  template <class V>
  void visit(V& v) {
    v.field("out_dir", out_dir, "directory for checkpoints, metrics.jsonl, TensorBoard events and plots");
    v.field("seed", seed, "random seed for initialisation and data order");
    v.field("device", device, "where to train: auto picks CUDA when available", {"auto", "cpu", "cuda"});
  }
};

struct TrainConfig {
  int64_t steps = 1000;
  double lr = 3e-4;
  LossConfig loss;

  template <class V>
  void visit(V& v) {
    v.field("steps", steps, "number of optimizer steps");
    v.field("lr", lr, "peak learning rate");
    v.section("loss", loss);
  }
};

}  // namespace lmlab
