// lmlab scaling fit: the Temporal Scaling Law on a run's position_loss.jsonl; lmlab scaling rank:
// candidates (data mixtures) ranked by each method's predicted loss (docs/scaling.md).
#include <iostream>

#include "commands.h"
#include "lmlab/analysis/mixture_ranking.h"
#include "lmlab/analysis/scaling_diagnostics.h"
#include "lmlab/analysis/scaling_report.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/runlog/results_table.h"
#include "lmlab/train/experiment.h"
#include "lmlab/train/schedule.h"

namespace lmlab::cli {

namespace {

struct FitArgs {
  std::string run, plot, json;
  int64_t observe_until = -1, predict_to = -1;
  bool no_schedule = false;
  analysis::ScalingOptions options;
};

// The learning rate of every step of RUN/config.toml's schedule (train::learning_rate), or null
// when the run has no config.toml.
std::shared_ptr<const analysis::LrSchedule> run_schedule(const std::string& run) {
  const std::string path = run + "/config.toml";
  if (!file_exists(path)) return nullptr;
  Experiment exp;
  config::apply_toml_file(config::Schema::of(exp), path);
  std::vector<double> lr;
  for (int64_t s = 0; s < exp.train.steps; ++s) lr.push_back(train::learning_rate(exp.train, s));
  if (lr.empty()) throw_user_error(path, "train.steps is 0: no learning-rate schedule to follow (use --no-schedule)");
  const double floor_rate = exp.train.schedule == "constant" ? exp.train.lr : exp.train.lr * exp.train.min_lr_ratio;
  return std::make_shared<analysis::LrSchedule>(std::move(lr), floor_rate);
}

void run_fit(const FitArgs& args) {
  const std::string path = args.run + "/position_loss.jsonl";
  auto evals = analysis::read_position_loss(path);
  analysis::ScalingOptions options = args.options;
  options.observe_until = args.observe_until;
  options.predict_to = args.predict_to;
  if (!args.no_schedule) options.schedule = run_schedule(args.run);
  auto result = analysis::fit_temporal_scaling(evals, options);
  auto diagnostics = analysis::diagnose_parameters(result, evals);
  std::cout << analysis::scaling_table(result) << "\n" << analysis::diagnostics_table(diagnostics);
  if (!args.json.empty()) {
    nlohmann::json j = analysis::scaling_json(result);
    j["diagnostics"] = analysis::diagnostics_json(diagnostics);
    write_file_atomic(args.json, j.dump(2) + "\n");
    std::cout << "\nwrote " << args.json << "\n";
  }
  if (!args.plot.empty() && analysis::write_scaling_plot(result, evals, args.plot)) {
    std::cout << "wrote " << args.plot << "\n";
  }
}

struct RankArgs {
  std::vector<std::string> paths, by;
  std::string group, actual, doc;
};

// `doc` with the text between "<!-- ranking-table GROUP -->" and "<!-- /ranking-table GROUP -->"
// replaced (one section per group, so a page can hold several rankings).
std::string replace_ranking_section(const std::string& doc, const std::string& body, const std::string& group,
                                    const std::string& doc_path) {
  const std::string open = "<!-- ranking-table " + group + " -->", close = "<!-- /ranking-table " + group + " -->";
  const size_t a = doc.find(open + "\n"), b = doc.find(close);
  if (a == std::string::npos || b == std::string::npos || b < a)
    throw_user_error(doc_path, "needs the lines '" + open + "' and '" + close + "' around the table");
  return doc.substr(0, a + open.size() + 1) + body + doc.substr(b);
}

void run_rank(const RankArgs& args) {
  analysis::RankingInput input;
  for (const auto& r : runlog::read_run_results(args.paths)) {
    if (r.group != args.group) continue;
    input[r.seed][r.variant] = r.metrics;
  }
  if (input.empty()) throw UserError("no result file of group '" + args.group + "' in the given paths");
  const auto rankings = analysis::rank_candidates(input, args.by, args.actual);
  const std::string table = analysis::ranking_markdown(rankings, input, args.actual);
  std::cout << table;
  if (!args.doc.empty()) write_file_atomic(args.doc, replace_ranking_section(read_file(args.doc), table, args.group, args.doc));
}

void add_fit_command(CLI::App& s) {
  auto args = std::make_shared<FitArgs>();
  auto* fit = s.add_subcommand("fit", "Fit the law to a run's position_loss.jsonl and predict later losses");
  fit->add_option("--run", args->run, "run directory containing position_loss.jsonl")->required();
  fit->add_option("--observe-until", args->observe_until,
                  "fit only eval steps <= STEP (default: 25% of the last step in the file)");
  fit->add_option("--predict-to", args->predict_to, "predict up to STEP (default: the last step in the file)");
  fit->add_option("--plot", args->plot, "write a PNG of observed, predicted and actual loss (needs gnuplot)");
  fit->add_option("--json", args->json, "write the fits, predictions, scores and per-parameter diagnostics as JSON");
  fit->add_option("--law", args->options.position_law, "per-position law: shifted a0/(a1+i)+a2 (default), hyperbolic a0/(1+a1*i)+a2 (the same family, "
                  "the paper's parameters) or power a0*i^-a1+a2");
  fit->add_option("--trajectory-forms", args->options.trajectory_candidates,
                  "candidate forms for the parameters over time (default: power,log,hyperbolic,exponential and, "
                  "with the run's config.toml, piecewise-cosine,lr-area)")
      ->delimiter(',');
  fit->add_option("--holdout", args->options.holdout_fraction,
                  "share of the observed steps held out to choose each trajectory form (default 0.25)")
      ->check(CLI::Range(0.0, 1.0));
  fit->add_option("--time", args->options.time, "the trajectories' time: tokens (trained tokens, default) or steps")
      ->check(CLI::IsMember({"tokens", "steps"}));
  fit->add_flag("--no-schedule", args->no_schedule,
                "ignore RUN/config.toml: no learning-rate schedule, so no piecewise-cosine or lr-area forms");
  fit->callback([args] { run_fit(*args); });
}

void add_rank_command(CLI::App& s) {
  auto args = std::make_shared<RankArgs>();
  auto* rank = s.add_subcommand("rank", "Rank candidates (data mixtures) by each method's predicted loss, per seed, "
                                        "against their actual loss (result files of `lmlab results record`)");
  rank->add_option("paths", args->paths, "result files or directories of *.json")->required();
  rank->add_option("--group", args->group, "the result files' group holding the candidates (variants)")->required();
  rank->add_option("--by", args->by, "metrics to rank by, one method each, e.g. final_tsl,final_power,cutoff_loss")
      ->required()
      ->delimiter(',');
  rank->add_option("--actual", args->actual, "the metric holding the actual final loss")->required();
  rank->add_option("--doc", args->doc,
                   "also write the table between the lines '<!-- ranking-table GROUP -->' and "
                   "'<!-- /ranking-table GROUP -->' of this file");
  rank->callback([args] { run_rank(*args); });
}

}  // namespace

void add_scaling_commands(CLI::App& app) {
  auto* s = app.add_subcommand("scaling", "Temporal Scaling Law: fit and extrapolate loss curves, rank data mixtures");
  s->require_subcommand(1);
  add_fit_command(*s);
  add_rank_command(*s);
}

}  // namespace lmlab::cli
