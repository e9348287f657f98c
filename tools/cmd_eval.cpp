// lmlab eval: perplexity and zero-shot multiple-choice tasks on one or more checkpoints, as
// lm-evaluation-harness scores them (docs/eval.md), printed as a table and optionally written
// as JSON, a bar chart and a per-request samples file. Task "val" scores a prepared token split
// (the run's own validation data by default) with frequency-bucket perplexities.
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/files.h"
#include "lmlab/eval/run_eval.h"
#include "lmlab/eval/task_data.h"
#include "lmlab/train/device.h"

namespace lmlab::cli {

namespace {

// The command line's form of eval::EvalRunOptions: comma lists and output files.
struct EvalOptions {
  std::string checkpoints, tasks = kDefaultTasks;
  std::string data_dir, output, plot, samples, eval_files;
  static constexpr const char* kDefaultTasks =
      "ppl,hellaswag,piqa,winogrande,arc_easy,arc_challenge,openbookqa,copa,boolq,lambada";
  eval::EvalRunOptions run;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

void run_eval_command(EvalOptions& o) {
  o.run.checkpoints = split_commas(o.checkpoints);
  o.run.tasks = split_commas(o.tasks);
  o.run.default_tasks = o.tasks == EvalOptions::kDefaultTasks;
  o.run.eval_files = split_commas(o.eval_files);
  o.run.samples = !o.samples.empty();
  if (!o.data_dir.empty()) ::setenv("LMLAB_DATA", o.data_dir.c_str(), 1);
  const eval::EvalRun run = eval::run_eval(o.run);
  std::cout << eval::results_table(run.runs);
  if (!o.output.empty()) {
    write_file_atomic(o.output, eval::eval_run_json(run, o.run).dump(2) + "\n");
    std::cerr << "eval: wrote " << o.output << "\n";
  }
  if (!o.samples.empty()) write_file_atomic(o.samples, run.samples);
  if (!o.plot.empty() && eval::plot_results(run.runs, o.plot)) std::cerr << "eval: wrote " << o.plot << "\n";
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* sub = app.add_subcommand("eval", "Perplexity and zero-shot tasks on one or more checkpoints");
  sub->add_option("--checkpoint", o->checkpoints, "Checkpoint or run directories, comma-separated (compared in one table)")
      ->required();
  sub->add_option("--tasks", o->tasks, "Comma-separated: own (the checkpoint's training task's evaluation; the only "
                                       "one for checkpoints of tasks other than lm and sft), ppl, val, " + [] {
    std::string s;
    for (const std::string& t : eval::task_names()) s += (s.empty() ? "" : ",") + t;
    return s;
  }());
  sub->add_option("--eval-files", o->eval_files,
                  "own: comma-separated files to score instead of the checkpoint's data.eval_files");
  sub->add_option("--data", o->data_dir, "Shared data directory (default: $LMLAB_DATA or ../shared/data)");
  sub->add_option("--limit", o->run.limit,
                  "Score only the first N items of each task (ppl: the first N lines; val: the first N windows)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--output", o->output, "Write the results as JSON");
  sub->add_option("--plot", o->plot, "Write a bar chart of the accuracies (PNG, needs gnuplot)");
  sub->add_option("--write-requests,--samples", o->samples,
                  "Write every request (context, continuation), its log-likelihood and greedy flag (JSON lines)");
  sub->add_option("--batch-size", o->run.batch_size, "Requests per forward pass")->check(CLI::PositiveNumber);
  sub->add_option("--ppl-file", o->run.ppl_file, "Text file for ppl (default: WikiText-2 test)");
  sub->add_option("--val-data", o->run.val_data,
                  "Token-shard directory for val (default: each checkpoint's data.dir); frequency buckets "
                  "are counted on its training shard");
  sub->add_option("--set", o->run.overrides,
                  "Override a key of the checkpoints' config before building the model, e.g. "
                  "model.ffn.disable_top1=true (repeatable)");
  sub->add_option("--max-length", o->run.max_length,
                  "Context length of the scorer (default: min(data.seq_len, model.max_seq_len) of the checkpoint)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--device", o->run.device, "auto, cpu or cuda")->check(CLI::IsMember(train::device_choices()));
  sub->callback([o] { run_eval_command(*o); });
}

}  // namespace lmlab::cli
