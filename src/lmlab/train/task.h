// A training task: what one model family learns and how it is scored, plugged into the one
// engine loop (engine.h) — torchtitan's "train spec" in our idiom. The engine owns everything
// shared: AdamW over the trainable parameters, schedules, accumulation, clipping, bf16 autocast,
// the divergence guard, checkpoints and exact resume, data-parallel all-reduce, metrics and
// TensorBoard, progress and eval cadence. A task owns its model(s), data, loss and evaluation.
// Tasks are registered by name and chosen with [run] task = "...".
//
//   setup()         build the model(s) into module() and the training source
//   frozen_patterns parameters that never train (on top of [train] freeze)
//   loss(batch)     the scalar to backpropagate plus what to log
//   evaluate()      metrics of the held-out data ({"val_loss": ..., "acc": ..., ...})
//   train_step()    default: grad_accum micro-batches then one update; tasks needing two
//                   optimizer steps or two forward passes override it
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/data/batch_source.h"
#include "lmlab/train/experiment.h"
#include "lmlab/train/losses.h"

namespace lmlab::train {

// What a task is given to build itself and to evaluate; the same on every rank but `rank`.
struct TaskEnv {
  TaskEnv(Experiment& e, const torch::Device& d) : exp(e), device(d), batch_per_rank(e.train.batch_size) {}

  Experiment& exp;  // the task fills what it resolves from the data (model.vocab_size, ...)
                    // before the engine writes config.toml
  torch::Device device;
  int64_t rank = 0, world_size = 1;
  // Sequences of each batch this rank trains on: train.batch_size, or its share among the CPU
  // ranks of one `lmlab train` (cpu_ranks.h; only tasks whose split is exact are split).
  int64_t batch_per_rank;
  bool main = true;        // rank 0: the one that writes files and prints
  bool training = true;    // false: evaluation only (`lmlab eval`), no training data is read
  bool bf16 = false;       // forward passes run under bf16 autocast (train/autocast.h)
  bool resume = false;     // the engine restores a checkpoint after setup()
  int64_t start_step = 0;  // set before on_start(): the step a resumed run continues from
  std::string run_dir;
  RankMean rank_mean = [](const torch::Tensor& t) { return t; };               // mean of a scalar over ranks
  std::function<void(std::vector<torch::Tensor>&)> all_reduce_sum = [](std::vector<torch::Tensor>&) {};  // in place
};

struct LossOutput {
  torch::Tensor loss;    // scalar to backpropagate (auxiliary terms included)
  torch::Tensor report;  // scalar logged as "loss" (undefined: `loss`)
  // Detached scalars averaged over micro-batches and logged by name ("aux_loss", "acc").
  std::map<std::string, torch::Tensor> extras;
};

// One optimizer step as the engine offers it to Task::train_step.
class StepEnv {
 public:
  virtual ~StepEnv() = default;
  virtual data::NamedBatch next_batch() = 0;  // next batch of the task's source, on the device
  virtual int64_t grad_accum() const = 0;
  // (out.loss / grad_accum()).backward(), and adds report and extras to what update() logs
  // (their means over the micro-batches since the last update).
  virtual void backward(const LossOutput& out) = 0;
  // Averages gradients over ranks, clips, stops on a non-finite loss or gradient norm (with a
  // checkpoint of the last good state), then AdamW at this step's learning rate. Clears the
  // gradients after. A step may call it more than once (two optimizer steps per iteration).
  virtual void update() = 0;
  virtual double lr() const = 0;
  virtual int64_t step() const = 0;  // optimizer steps completed before this one
};

class Task {
 public:
  virtual ~Task() = default;

  virtual void setup(TaskEnv& env) = 0;
  // Everything the checkpoint holds and the optimizer may train, as one module tree.
  virtual torch::nn::Module& module() = 0;
  virtual std::vector<std::string> frozen_patterns() const { return {}; }
  virtual data::BatchSource& train_source() = 0;
  virtual LossOutput loss(const data::NamedBatch& batch) = 0;
  // Called on every rank (results summed with env.all_reduce_sum); the module is in eval mode.
  virtual nlohmann::json evaluate(TaskEnv& env) = 0;
  // The metric that stands for the run in TrainResult (and in the progress line's end).
  virtual std::string primary_metric() const { return "val_loss"; }

  // Throughput units: "tokens" for language models (MFU per token), "samples" otherwise.
  virtual std::string unit() const { return "samples"; }
  virtual int64_t units_per_batch(const data::NamedBatch& batch) const { return batch.size(); }
  virtual double train_flops_per_unit() const = 0;

  virtual void train_step(StepEnv& s);

  // Hooks. on_start: after setup and (on resume) the checkpoint load, before the first step.
  virtual void on_start(TaskEnv&) {}
  virtual void on_eval(TaskEnv&, int64_t /*step*/, int64_t /*units*/, const nlohmann::json& /*metrics*/) {}
  virtual void on_end(TaskEnv&, int64_t /*step*/) {}
  // Fields added to a metrics.jsonl training line (routing statistics, ...).
  virtual nlohmann::json log_extras() { return nlohmann::json::object(); }
  // A tokenizer.json copied into checkpoints ("" = none).
  virtual std::string tokenizer_path() const { return ""; }
  // What `--print-params` shows.
  virtual std::string describe() = 0;
};

using TaskFactory = std::function<std::unique_ptr<Task>()>;

// Name -> factory, filled once by explicit registration calls (as FfnRegistry).
class TaskRegistry {
 public:
  static TaskRegistry& instance();
  void add(const std::string& name, const std::string& help, TaskFactory factory);
  // UserError with a did-you-mean when `name` is unknown.
  std::unique_ptr<Task> make(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::pair<std::string, TaskFactory>> tasks_;
};

std::vector<std::string> task_names();  // for [run] task's choices

}  // namespace lmlab::train
