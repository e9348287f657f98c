// Comparison tables from per-run result files (docs/results/<method>/*.json): one row per
// (group, variant), one column per metric, each cell the mean ± sample sd over the seeds.
//
// A run's file (written by the method's run_all.sh):
//   {"method": "pyra", "variant": "tome-high", "group": "usps", "seed": 1,
//    "settings": {...}, "metrics": {"acc": 0.95, "images_per_s": 1234.0}}
// "group" and "settings" are optional; "metrics" values are numbers (null = not measured).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lmlab::runlog {

struct RunResult {
  std::string file;  // where it was read from, for error messages
  std::string method, variant, group;
  int64_t seed = 0;
  std::map<std::string, double> metrics;
  std::vector<std::string> metric_order;  // the file's own key order
};

// Reads result files; a directory stands for its *.json files in name order. UserError naming
// the file (and the key) for a malformed file, and for two files with the same
// (group, variant, seed).
std::vector<RunResult> read_run_results(const std::vector<std::string>& paths);

struct MetricSummary {
  double mean = 0, sd = 0;  // sd: sample standard deviation (n - 1); 0 when n = 1
  int64_t n = 0;
};

struct ResultsRow {
  std::string group, variant;
  int64_t seeds = 0;                               // runs in this row
  std::vector<std::optional<MetricSummary>> cells;  // one per ResultsTable::metrics
};

struct ResultsTable {
  std::string method;
  std::vector<std::string> metrics;
  std::vector<ResultsRow> rows;
  bool has_groups = false;
};

// `metrics` empty: every metric, in first-seen order. `variants` empty: rows in first-seen
// order; else only these variants, in this order. Unknown names are a UserError with a
// did-you-mean hint.
ResultsTable summarize_results(const std::vector<RunResult>& runs, const std::vector<std::string>& metrics,
                               const std::vector<std::string>& variants);

// "0.9726 ± 0.0031": the sd with the mean's decimals, so columns line up.
std::string format_summary(const MetricSummary& s);
// Aligned plain-text table for the terminal, and the same as a Markdown table.
std::string format_text(const ResultsTable& table);
std::string format_markdown(const ResultsTable& table);

// A metric for a result file: "name=0.25" (a number), "name=null", or "name=@FILE:KEY" — the
// number at KEY (dots separate nested keys, a number indexes an array) in a JSON file, or for a .jsonl file in its LAST
// record that has KEY (a run's metrics.jsonl). UserError naming the spec, file and key.
std::pair<std::string, nlohmann::json> resolve_metric(const std::string& spec);

// Writes one result file (atomically): {"method", "variant", "group"?, "seed", "settings",
// "metrics"} with `metrics` resolved by resolve_metric, in the given order.
void write_run_result(const std::string& path, const RunResult& identity, const nlohmann::json& settings,
                      const std::vector<std::string>& metric_specs);

// `doc` with the text between the lines "<!-- results-table -->" and "<!-- /results-table -->"
// replaced by `body`. UserError naming `doc_path` when the markers are missing or out of order.
std::string replace_marked_section(const std::string& doc, const std::string& body, const std::string& doc_path);

}  // namespace lmlab::runlog
