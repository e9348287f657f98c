// Checkpoints of every task in `lmlab eval`: the task that wrote a checkpoint rebuilds its
// model from the checkpoint's config, loads the weights and runs its own evaluation (held-out
// loss, accuracy, F1, ... on data.eval_files or on the files given instead).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmlab::train {

// [run] task of the checkpoint (or run directory's latest checkpoint) `dir`.
std::string checkpoint_task(const std::string& dir);

struct TaskEvaluation {
  std::string task;
  int64_t step = 0;
  nlohmann::json metrics;  // what the task's evaluate() reports
};

// `overrides` ("section.key=value") change the checkpoint's config first; `eval_files`, when
// not empty, replace its data.eval_files. UserError naming the path for an unreadable
// checkpoint or data.
TaskEvaluation evaluate_task_checkpoint(const std::string& dir, const torch::Device& device,
                                        const std::vector<std::string>& overrides,
                                        const std::vector<std::string>& eval_files);

}  // namespace lmlab::train
