// lmlab train --config F.toml [--set key=value]... [--resume] [--print-config] [--print-params]
#include <iostream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/config/config.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/cpu_ranks.h"
#include "lmlab/train/cpu_threads.h"
#include "lmlab/train/device.h"
#include "lmlab/train/experiment.h"
#include "lmlab/train/trainer.h"

namespace lmlab::cli {

namespace {

struct TrainOptions {
  std::string config_file;
  std::vector<std::string> overrides;
  bool resume = false;
  bool print_config = false;
  bool print_params = false;
  bool force = false;
};

// run.out_dir may not be, or hold, the checkpoint it starts from or the data it reads (one that
// does not exist is reported where it is read).
void check_run_dir(const Experiment& exp, bool force) {
  const std::string& init = exp.train.init_from;
  const bool have_init = !init.empty() && file_exists(init);
  check_output_dir({{"run.out_dir", exp.run.out_dir},
                    {{"train.init_from", have_init ? init : ""},
                     {"train.init_from", have_init ? train::resolve_checkpoint(init) : ""},
                     {"data.dir", file_exists(exp.data.dir) ? exp.data.dir : ""}},
                    train::run_dir_entries(),
                    force});
}

void run_train(const TrainOptions& o) {
  Experiment exp;
  config::Schema schema = config::Schema::of(exp);
  if (o.print_config) {
    // Every key with its default (or, with --config/--set, its resolved value).
    if (!o.config_file.empty()) config::apply_toml_file(schema, o.config_file);
    config::apply_overrides(schema, o.overrides);
    std::cout << config::describe(schema);
    return;
  }
  if (o.config_file.empty()) throw UserError("lmlab train: --config is required (see --print-config)");
  config::apply_toml_file(schema, o.config_file);
  config::apply_overrides(schema, o.overrides);
  if (o.print_params) {
    std::cout << train::describe_model(exp);
    return;
  }
  check_run_dir(exp, o.force);
  // CPU training on several cores runs one process per core (cpu_ranks.h) or, where the batch
  // does not split exactly, restarts once with OMP_WAIT_POLICY=PASSIVE (cpu_threads.h).
  if (train::pick_device(exp.run.device).is_cpu()) {
    const train::CpuRankPlan ranks = train::plan_cpu_ranks(exp, train::read_thread_env(), train::under_rank_launcher());
    if (ranks.ranks > 1) train::exit_as(train::run_cpu_ranks(ranks, train::own_arguments()));  // rank 0 logs them
    std::cout.flush();
    std::cerr.flush();
    train::reexec_for_threads();
  }
  train::TrainResult r = train::run_training(exp, o.resume);
  if (!r.checkpoint.empty())
    std::cout << "trained " << r.steps << " steps; "
              << (r.primary_metric == "val_loss" ? std::string("validation loss") : r.primary_metric) << " "
              << r.val_loss << "\nrun: " << r.run_dir
              << "\ncheckpoint: " << r.checkpoint << "\n";
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto opts = std::make_shared<TrainOptions>();
  auto* sub = app.add_subcommand("train", "Train a language model from a TOML experiment config");
  sub->add_option("--config", opts->config_file, "Experiment file (TOML)");
  sub->add_option("--set", opts->overrides, "Override a key: --set section.key=value (repeatable)")
      ->allow_extra_args(false);
  sub->add_flag("--resume", opts->resume, "Continue from the last checkpoint in run.out_dir");
  sub->add_flag("--force", opts->force, "Write into run.out_dir even when it holds files that are not a run's");
  sub->add_flag("--print-config", opts->print_config,
                "Print every config key with its type, default and help, then exit");
  sub->add_flag("--print-params", opts->print_params,
                "Print total/active parameters and training FLOPs per token of the configured model, then exit");
  sub->callback([opts] { run_train(*opts); });
}

}  // namespace lmlab::cli
