// `lmlab train`: the task named by [run] task (task.h) run by the training engine (engine.h).
#pragma once
#include <string>

#include "lmlab/train/engine.h"
#include "lmlab/train/experiment.h"

namespace lmlab::train {

// `exp` as resolved from the config file and --set overrides (model.vocab_size 0 is filled in
// from the data). `resume`: continue from the run's latest checkpoint.
TrainResult run_training(Experiment exp, bool resume);

// What --print-params shows for the configured task: parameters (total, active, trainable) and
// training FLOPs per token or sample.
std::string describe_model(Experiment exp);

}  // namespace lmlab::train
