// The `lmlab eval` loop as a library call: every task on every checkpoint, with the task data
// read once and shared. tools/cmd_eval.cpp only parses options into EvalRunOptions and prints
// what run_eval returns; tests call run_eval directly.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/eval/report.h"

namespace lmlab::eval {

struct EvalRunOptions {
  std::vector<std::string> checkpoints;  // checkpoint or run directories, compared side by side
  std::vector<std::string> tasks;        // "ppl", "val", "own" and any of task_names()
  bool default_tasks = false;            // tasks is the command's default list: a checkpoint of
                                         // another training task than lm then runs "own" only
  std::vector<std::string> eval_files;   // "own": files to score instead of data.eval_files
  std::string ppl_file;                  // text for "ppl" ("" = WikiText-2 test in the shared data)
  std::string val_data;                  // token-shard directory for "val" ("" = each checkpoint's data.dir)
  std::string device = "auto";           // train::pick_device choice: auto, cpu or cuda
  std::vector<std::string> overrides;    // "section.key=value" applied to each checkpoint's config
  int64_t limit = 0;                     // items per task, lines of ppl, windows of val (0 = all)
  int64_t batch_size = 16;               // requests (or val windows) per forward pass
  int64_t max_length = 0;                // scorer context (0 = min(data.seq_len, model.max_seq_len))
  bool samples = false;                  // collect every scored request (one checkpoint only)
};

struct EvalRun {
  std::vector<CheckpointResults> runs;  // one per checkpoint, tasks in the order asked
  std::string ppl_path;                 // the text "ppl" scored ("" without that task)
  std::string samples;                  // samples_jsonl of every multiple-choice task, when asked
};

// Task "own": the checkpoint's training task evaluates it (train/task_eval.h): every task's
// checkpoint (lm, sft, mlm, classify, ...) loads here. Checkpoints of tasks other than lm run
// "own" only.
// Task data comes from data_path("eval") (set $LMLAB_DATA to move it). UserError for no
// checkpoint or task, an unknown task (with the closest), samples with several checkpoints, an
// unreadable checkpoint or task file, and a device that is not there.
EvalRun run_eval(const EvalRunOptions& o);

// What `lmlab eval --output` writes: results_json plus "ppl_file" (with ppl) and "limit".
nlohmann::json eval_run_json(const EvalRun& run, const EvalRunOptions& o);

}  // namespace lmlab::eval
