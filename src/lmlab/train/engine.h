// The one training loop every task runs in (what a task supplies is in task.h):
//   per step: lr from the schedule; the task's train_step (default: grad_accum micro-batches of
//   forward + loss / grad_accum + backward, then one update = gradients averaged over ranks,
//   global-norm clipping, AdamW over the trainable parameters). Every log_every steps a
//   metrics.jsonl line and the progress line (loss, units/s, MFU); every eval.every steps (and
//   at each epoch's end with eval.per_epoch) the task's evaluation; every checkpoint_every steps
//   a checkpoint. A non-finite loss or gradient norm stops the run before the update is
//   applied, with a checkpoint of that last good state. train.epochs > 0 sets the step count
//   from the task's batches per epoch.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lmlab/train/experiment.h"
#include "lmlab/train/task.h"

namespace lmlab::train {

struct TrainResult {
  int64_t steps = 0;           // optimizer steps completed
  double val_loss = 0;         // of the final eval (the task's primary metric)
  nlohmann::json metrics;      // everything the final eval reported
  std::string primary_metric;  // the name of val_loss's metric
  std::string run_dir, checkpoint;
};

// `exp` as resolved from the config file and --set overrides. `resume`: continue from the
// run's latest checkpoint.
TrainResult run_engine(Task& task, Experiment exp, bool resume);

// Parameters of `module` whose names match one of the glob patterns (fnmatch: '*' also
// matches dots); UserError naming a pattern that matches no parameter.
// `key` names the config key in the error for a pattern that matches nothing.
std::vector<std::string> matching_parameters(const torch::nn::Module& module, const std::vector<std::string>& patterns,
                                             const std::string& key = "train.freeze");
// The parameters that do not train: train.freeze plus the task's own frozen_patterns(), and,
// when train.train_only is set, every parameter it does not match.
std::vector<std::string> frozen_parameters(Task& task, const TrainConfig& tc);

}  // namespace lmlab::train
