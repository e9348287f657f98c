// lmlab scaling fit: the Temporal Scaling Law on a run's position_loss.jsonl (docs/scaling.md).
#include <iostream>

#include "commands.h"
#include "lmlab/analysis/scaling_report.h"
#include "lmlab/common/files.h"

namespace lmlab::cli {

namespace {

struct FitArgs {
  std::string run, plot, json;
  int64_t observe_until = -1, predict_to = -1;
  analysis::ScalingOptions options;
};

void run_fit(const FitArgs& args) {
  const std::string path = args.run + "/position_loss.jsonl";
  auto evals = analysis::read_position_loss(path);
  analysis::ScalingOptions options = args.options;
  options.observe_until = args.observe_until;
  options.predict_to = args.predict_to;
  auto result = analysis::fit_temporal_scaling(evals, options);
  std::cout << analysis::scaling_table(result);
  if (!args.json.empty()) {
    write_file_atomic(args.json, analysis::scaling_json(result).dump(2) + "\n");
    std::cout << "\nwrote " << args.json << "\n";
  }
  if (!args.plot.empty() && analysis::write_scaling_plot(result, evals, args.plot)) {
    std::cout << "wrote " << args.plot << "\n";
  }
}

}  // namespace

void add_scaling_commands(CLI::App& app) {
  auto* s = app.add_subcommand("scaling", "Temporal Scaling Law: fit and extrapolate loss curves");
  s->require_subcommand(1);
  auto args = std::make_shared<FitArgs>();
  auto* fit = s->add_subcommand("fit", "Fit the law to a run's position_loss.jsonl and predict later losses");
  fit->add_option("--run", args->run, "run directory containing position_loss.jsonl")->required();
  fit->add_option("--observe-until", args->observe_until,
                  "fit only eval steps <= STEP (default: 25% of the last step in the file)");
  fit->add_option("--predict-to", args->predict_to, "predict up to STEP (default: the last step in the file)");
  fit->add_option("--plot", args->plot, "write a PNG of observed, predicted and actual loss (needs gnuplot)");
  fit->add_option("--json", args->json, "write the fits, predictions and scores as JSON");
  fit->add_option("--law", args->options.position_law, "per-position law: shifted a0/(a1+i)+a2 (default), hyperbolic a0/(1+a1*i)+a2 (the same family, "
                  "the paper's parameters) or power a0*i^-a1+a2");
  fit->add_option("--trajectory-forms", args->options.trajectory_candidates,
                  "candidate forms for the parameters over time (default: power,log,hyperbolic,exponential)")
      ->delimiter(',');
  fit->add_option("--holdout", args->options.holdout_fraction,
                  "share of the observed steps held out to choose each trajectory form (default 0.25)")
      ->check(CLI::Range(0.0, 1.0));
  fit->callback([args] { run_fit(*args); });
}

}  // namespace lmlab::cli
