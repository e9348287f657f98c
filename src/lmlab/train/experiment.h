// The whole experiment: every section of a `lmlab train --config F.toml` file. Each section is
// defined (keys, types, defaults, help) by the module that uses it.
#pragma once
#include "lmlab/data/data_config.h"
#include "lmlab/eval/eval_config.h"
#include "lmlab/model/model_config.h"
#include "lmlab/train/task_config.h"
#include "lmlab/train/train_config.h"

namespace lmlab {

struct Experiment {
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
  TaskConfig task;

  template <class V>
  void visit(V& v) {
    v.section("run", run);
    v.section("data", data);
    v.section("model", model);
    v.section("train", train);
    v.section("eval", eval);
    v.section("task", task);
  }
};

}  // namespace lmlab
