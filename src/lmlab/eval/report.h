// Reporting `lmlab eval` results: one JSON file, a table on stdout and a bar chart (gnuplot),
// with one column (or bar colour) per checkpoint so runs can be compared side by side.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/eval/task_data.h"
#include "lmlab/eval/task_result.h"

namespace lmlab::eval {

struct CheckpointResults {
  std::string checkpoint;  // as given on the command line
  int64_t step = 0;
  int64_t max_length = 0;  // the scorer's context length
  std::vector<TaskResult> tasks;
};

// {"checkpoints": [{"checkpoint", "step", "max_length", "results": {task: {"n", metric...}}}]}
nlohmann::json results_json(const std::vector<CheckpointResults>& runs);

// Rows "task metric", one column per checkpoint; stderr columns are folded in as "± x". A line
// "note: task: ..." follows for each task whose requests still differ from lm-eval's.
std::string results_table(const std::vector<CheckpointResults>& runs);

// Short distinct names for the checkpoints (their last path component, or the whole path
// when two share it).
std::vector<std::string> checkpoint_labels(const std::vector<CheckpointResults>& runs);

// A clustered bar chart of each task's headline accuracy (acc_norm where reported, else acc),
// one bar per checkpoint. Returns false (after a warning on stderr) when gnuplot is missing or
// fails; a run never fails for a plot.
bool plot_results(const std::vector<CheckpointResults>& runs, const std::string& png_path);

// One JSON line per scored request (task, item, choice, context, continuation, gold, logprob,
// greedy), for cross-checks against other implementations (bench/check_hf_export.py).
std::string samples_jsonl(const TaskData& task, const std::vector<Loglikelihood>& lls);

}  // namespace lmlab::eval
