// lmlab quickstart: one command that shows a newcomer what lmlab does, using what has landed.
// It grows with the toolkit: tokenizer (issue #3), data + training + samples (issue #4).
#include <iostream>

#include "commands.h"
#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/runlog/metrics.h"
#include "lmlab/train/experiment.h"

namespace lmlab::cli {

namespace {

struct QuickstartOptions {
  std::string data_dir;
  double minutes = 3.0;
  std::string out_dir = "runs/quickstart";
};

void run_quickstart(const QuickstartOptions& o) {
  if (!o.data_dir.empty()) ::setenv("LMLAB_DATA", o.data_dir.c_str(), 1);
  std::cout << version_text();
  std::string stories = data_path("lm/tinystories/tinystories_valid_first1000.txt");
  std::cout << "data: " << stories << "\n";

  // The resolved default experiment, written the way every run writes it.
  Experiment exp;
  exp.run.out_dir = o.out_dir;
  config::Schema schema = config::Schema::of(exp);
  make_dirs(o.out_dir);
  write_file_atomic(o.out_dir + "/config.toml", config::to_toml(schema));
  runlog::MetricsLogger metrics(o.out_dir);
  metrics.log(0, {{"quickstart", 1}});
  std::cout << "wrote " << o.out_dir << "/config.toml, " << metrics.path() << " and "
            << metrics.tensorboard_path() << "\n";
  std::cout << "Not yet part of the quickstart: tokenizer training (issue #3), data preparation, "
               "model training and samples (issue #4). Budget asked for: "
            << o.minutes << " min.\n";
}

}  // namespace

void add_quickstart_command(CLI::App& app) {
  auto opts = std::make_shared<QuickstartOptions>();
  auto* sub = app.add_subcommand("quickstart", "Train a tokenizer and a small model on TinyStories, end to end");
  sub->add_option("--data", opts->data_dir, "Shared data directory (default: $LMLAB_DATA or ../shared/data)");
  sub->add_option("--minutes", opts->minutes, "Training budget in minutes")->check(CLI::PositiveNumber);
  sub->add_option("--output", opts->out_dir, "Run directory");
  sub->callback([opts] { run_quickstart(*opts); });
}

}  // namespace lmlab::cli
