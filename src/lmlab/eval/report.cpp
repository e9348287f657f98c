// Results as JSON, a comparison table and a gnuplot bar chart (see report.h).
#include "lmlab/eval/report.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include "lmlab/common/plot.h"

namespace lmlab::eval {

namespace {

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

bool is_count(const std::string& metric) { return metric == "tokens" || metric == "words" || metric == "bytes"; }

std::string headline_metric(const TaskResult& r) {
  return r.metrics.count("acc_norm") ? "acc_norm" : r.metrics.count("acc") ? "acc" : "";
}

}  // namespace

nlohmann::json results_json(const std::vector<CheckpointResults>& runs) {
  nlohmann::json out = {{"checkpoints", nlohmann::json::array()}};
  for (const CheckpointResults& run : runs) {
    nlohmann::json results = nlohmann::json::object();
    for (const TaskResult& t : run.tasks) {
      nlohmann::json entry = {{"n", t.n}};
      for (const auto& [name, value] : t.metrics) entry[name] = value;
      if (!t.note.empty()) entry["note"] = t.note;
      results[t.task] = entry;
    }
    out["checkpoints"].push_back({{"checkpoint", run.checkpoint}, {"step", run.step}, {"max_length", run.max_length}, {"results", results}});
  }
  return out;
}

std::vector<std::string> checkpoint_labels(const std::vector<CheckpointResults>& runs) {
  std::vector<std::string> labels;
  for (const CheckpointResults& run : runs) {
    std::filesystem::path p(run.checkpoint);
    std::string name = p.filename().string();
    if (name.empty()) name = p.parent_path().filename().string();
    labels.push_back(name.empty() ? run.checkpoint : name);
  }
  std::set<std::string> seen(labels.begin(), labels.end());
  if (seen.size() != labels.size())
    for (size_t i = 0; i < runs.size(); ++i) labels[i] = runs[i].checkpoint;
  return labels;
}

std::string results_table(const std::vector<CheckpointResults>& runs) {
  // Rows in the order tasks and metrics first appear.
  std::vector<std::pair<std::string, std::string>> rows;
  for (const CheckpointResults& run : runs)
    for (const TaskResult& t : run.tasks)
      for (const auto& [metric, value] : t.metrics) {
        (void)value;
        if (metric.size() > 7 && metric.compare(metric.size() - 7, 7, "_stderr") == 0) continue;
        std::pair<std::string, std::string> row{t.task, metric};
        if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
      }
  std::vector<std::string> labels = checkpoint_labels(runs);
  std::vector<std::vector<std::string>> cells = {{"task", "metric"}};
  cells[0].insert(cells[0].end(), labels.begin(), labels.end());
  for (const auto& [task, metric] : rows) {
    std::vector<std::string> line = {task, metric};
    for (const CheckpointResults& run : runs) {
      std::string cell = "-";
      for (const TaskResult& t : run.tasks) {
        if (t.task != task || !t.metrics.count(metric)) continue;
        double v = t.metrics.at(metric);
        cell = is_count(metric) ? fixed(v, 0) : fixed(v, 4);
        auto se = t.metrics.find(metric + "_stderr");
        if (se != t.metrics.end()) cell += " ± " + fixed(se->second, 4);
      }
      line.push_back(cell);
    }
    cells.push_back(line);
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], static_cast<size_t>(utf8_length(line[c])));
  std::ostringstream out;
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) {
      out << line[c];
      if (c + 1 < line.size()) out << std::string(width[c] - static_cast<size_t>(utf8_length(line[c])) + 2, ' ');
    }
    out << "\n";
  }
  std::set<std::string> noted;  // each task's difference from lm-eval, once
  for (const CheckpointResults& run : runs)
    for (const TaskResult& t : run.tasks)
      if (!t.note.empty() && noted.insert(t.task).second) out << "note: " << t.task << ": " << t.note << "\n";
  return out.str();
}

bool plot_results(const std::vector<CheckpointResults>& runs, const std::string& png_path) {
  std::vector<std::string> tasks;  // tasks with an accuracy, in order of appearance
  for (const CheckpointResults& run : runs)
    for (const TaskResult& t : run.tasks)
      if (!headline_metric(t).empty() && std::find(tasks.begin(), tasks.end(), t.task) == tasks.end())
        tasks.push_back(t.task);
  if (tasks.empty()) {
    std::cerr << "lmlab: warning: no accuracy to plot; skipping " << png_path << "\n";
    return false;
  }
  std::ostringstream data;  // one row per task, one column per checkpoint
  for (const std::string& task : tasks) {
    std::string metric;
    std::ostringstream values;
    for (const CheckpointResults& run : runs) {
      std::string v = "NaN";
      for (const TaskResult& t : run.tasks)
        if (t.task == task && !headline_metric(t).empty()) {
          metric = headline_metric(t);
          v = fixed(t.metrics.at(metric), 6);
        }
      values << " " << v;
    }
    data << "\"" << task << "\\n(" << metric << ")\"" << values.str() << "\n";
  }
  std::vector<std::string> labels = checkpoint_labels(runs);
  Plot plot;
  plot.width = static_cast<int>(std::max<size_t>(800, 120 * tasks.size() * runs.size() / 2 + 300));
  plot.data = {{"acc", data.str()}};
  std::ostringstream gp;
  gp << "set style data histogram\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
     << "set yrange [0:1]\nset ylabel 'accuracy'\nset grid ytics\nset key outside top center horizontal\n"
     << "set title 'lmlab eval'\nplot ";
  for (size_t i = 0; i < runs.size(); ++i)
    gp << (i ? ", " : "") << "$acc using " << i + 2 << (i ? "" : ":xtic(1)") << " title " << gnuplot_quote(labels[i]);
  plot.commands = gp.str();
  return render_png_or_warn(plot, png_path);
}

std::string samples_jsonl(const TaskData& task, const std::vector<Loglikelihood>& lls) {
  std::string out;
  size_t k = 0;
  for (size_t i = 0; i < task.items.size(); ++i)
    for (size_t c = 0; c < task.items[i].choices.size() && k < lls.size(); ++c, ++k) {
      const Choice& ch = task.items[i].choices[c];
      nlohmann::json line = {{"task", task.name},          {"item", i},
                             {"choice", c},                {"gold", task.items[i].gold},
                             {"context", ch.request.context}, {"continuation", ch.request.continuation},
                             {"norm_chars", ch.norm_chars}, {"logprob", lls[k].logprob},
                             {"greedy", lls[k].greedy}};
      out += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  return out;
}

}  // namespace lmlab::eval
