// lmlab results table: the comparison table of a method from its per-run result files
// (docs/results/<method>/*.json, written by configs/<method>/run_all.sh), mean ± sd over seeds;
// --doc regenerates the table in the method's doc page.
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/runlog/results_table.h"

namespace lmlab::cli {

namespace {

struct TableArgs {
  std::vector<std::string> paths, metrics, variants;
  std::string doc;
  bool markdown = false;
};

void run_table(const TableArgs& args) {
  auto runs = runlog::read_run_results(args.paths);
  auto table = runlog::summarize_results(runs, args.metrics, args.variants);
  std::cout << (args.markdown ? runlog::format_markdown(table) : runlog::format_text(table));
  if (args.doc.empty()) return;
  const std::string doc = read_file(args.doc);
  write_file_atomic(args.doc, runlog::replace_marked_section(doc, runlog::format_markdown(table), args.doc));
  std::cout << "\nwrote the table into " << args.doc << "\n";
}

struct RecordArgs {
  runlog::RunResult identity;
  std::string settings, output;
  std::vector<std::string> metrics;
};

void run_record(const RecordArgs& args) {
  nlohmann::json settings = nlohmann::json::object();
  if (!args.settings.empty()) {
    settings = nlohmann::json::parse(args.settings, nullptr, /*allow_exceptions=*/false);
    if (settings.is_discarded() || !settings.is_object())
      throw UserError("--settings: expected a JSON object, got '" + args.settings + "'");
  }
  runlog::write_run_result(args.output, args.identity, settings, args.metrics);
  std::cout << "wrote " << args.output << "\n";
}

}  // namespace

void add_results_commands(CLI::App& app) {
  auto* r = app.add_subcommand("results", "Comparison tables from per-run result files (mean ± sd over seeds)");
  r->require_subcommand(1);
  auto args = std::make_shared<TableArgs>();
  auto* t = r->add_subcommand("table", "One row per (group, variant), one column per metric, mean ± sd over seeds");
  t->add_option("paths", args->paths, "result files or directories of *.json (docs/results/<method>)")->required();
  t->add_option("--metrics", args->metrics, "columns, in this order (default: every metric)")->delimiter(',');
  t->add_option("--variants", args->variants, "rows, in this order (default: every variant, first seen first)")
      ->delimiter(',');
  t->add_flag("--markdown", args->markdown, "print a Markdown table");
  t->add_option("--doc", args->doc,
                "also write the Markdown table between '<!-- results-table -->' and '<!-- /results-table -->' "
                "in this page");
  t->callback([args] { run_table(*args); });

  auto rec = std::make_shared<RecordArgs>();
  auto* w = r->add_subcommand("record", "Write one run's result file (docs/conventions.md) from numbers and JSON files");
  w->add_option("--method", rec->identity.method, "the method (configs/<method>)")->required();
  w->add_option("--variant", rec->identity.variant, "the row of the comparison")->required();
  w->add_option("--group", rec->identity.group, "evaluation file, task pair, ... (optional)");
  w->add_option("--seed", rec->identity.seed, "the run's seed")->required();
  w->add_option("--settings", rec->settings, "a JSON object of free-form settings");
  w->add_option("--metric", rec->metrics,
                "name=NUMBER, name=null, or name=@FILE:KEY (KEY dotted, numbers index arrays; a .jsonl file: its last record with KEY); "
                "repeatable, columns keep this order")
      ->required();
  w->add_option("--output", rec->output, "the result file to write (atomically)")->required();
  w->callback([rec] { run_record(*rec); });
}

}  // namespace lmlab::cli
