// A checkpoint evaluated by its own task (see task_eval.h).
#include "lmlab/train/task_eval.h"

#include "lmlab/config/config.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/model_state.h"
#include "lmlab/train/task.h"

namespace lmlab::train {

namespace {

Experiment checkpoint_experiment(const std::string& ckpt, const CheckpointData& data,
                                 const std::vector<std::string>& overrides) {
  Experiment exp;
  config::Schema schema = config::Schema::of(exp);
  config::apply_toml_text(schema, data.config_toml, ckpt + "/config.toml");
  config::apply_overrides(schema, overrides);
  return exp;
}

}  // namespace

std::string checkpoint_task(const std::string& dir) {
  const std::string ckpt = resolve_checkpoint(dir);
  return checkpoint_experiment(ckpt, read_checkpoint(ckpt), {}).run.task;
}

TaskEvaluation evaluate_task_checkpoint(const std::string& dir, const torch::Device& device,
                                        const std::vector<std::string>& overrides,
                                        const std::vector<std::string>& eval_files) {
  const std::string ckpt = resolve_checkpoint(dir);
  CheckpointData data = read_checkpoint(ckpt);
  Experiment exp = checkpoint_experiment(ckpt, data, overrides);
  if (!eval_files.empty()) exp.data.eval_files = eval_files;
  std::unique_ptr<Task> task = TaskRegistry::instance().make(exp.run.task);
  TaskEnv env(exp, device);
  env.training = false;
  env.run_dir = exp.run.out_dir;
  task->setup(env);
  load_model_state(task->module(), data.model, ckpt + "/model.safetensors");
  task->module().to(device);
  task->module().eval();
  return {exp.run.task, data.trainer.value("step", int64_t{0}), task->evaluate(env)};
}

}  // namespace lmlab::train
