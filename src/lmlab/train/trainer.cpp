// `lmlab train`: look the task up by name, hand it to the engine.
#include "lmlab/train/trainer.h"

#include <algorithm>

#include "lmlab/train/print_params.h"
#include "lmlab/train/size_check.h"
#include "lmlab/train/task.h"

namespace lmlab::train {

TrainResult run_training(Experiment exp, bool resume) {
  check_training_size(with_decoder_vocab(exp));  // before the task builds a model or reads data
  std::unique_ptr<Task> task = TaskRegistry::instance().make(exp.run.task);
  return run_engine(*task, std::move(exp), resume);
}

std::string describe_model(Experiment exp) {
  if (auto counted = describe_from_config(exp)) return *counted;
  check_training_size(with_decoder_vocab(exp));  // as run_training; no config-only count (print_params.h): build the model
  std::unique_ptr<Task> task = TaskRegistry::instance().make(exp.run.task);
  TaskEnv env(exp, torch::kCPU);
  task->setup(env);
  std::string out = task->describe();
  int64_t trainable = 0;
  const std::vector<std::string> frozen = frozen_parameters(*task, exp.train);
  for (const auto& item : task->module().named_parameters())
    if (std::find(frozen.begin(), frozen.end(), item.key()) == frozen.end()) trainable += item.value().numel();
  return out + "trainable_params " + std::to_string(trainable) + "\ncounted_from built model (task \"" + exp.run.task +
         "\", family \"" + exp.model.family + "\": no config-only count)\n";
}

}  // namespace lmlab::train
