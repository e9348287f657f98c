#include "lmlab/runlog/results_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <tuple>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"

namespace lmlab::runlog {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> expand_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    if (!fs::is_directory(p)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && e.path().extension() == ".json") in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    if (in_dir.empty()) throw_user_error(p, "no result files (*.json) in this directory");
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

std::string required_string(const nlohmann::ordered_json& j, const std::string& key, const std::string& file) {
  if (!j.contains(key) || !j[key].is_string()) throw_user_error(file, "'" + key + "' must be a string");
  return j[key].get<std::string>();
}

RunResult parse_run_result(const std::string& file) {
  // metrics in the file's order: the default column order
  const auto j = parse_json<nlohmann::ordered_json>(read_file(file), SourcePos{file, 1, 1});
  if (!j.is_object()) throw_user_error(file, "a result file holds one JSON object");
  RunResult r;
  r.file = file;
  r.method = required_string(j, "method", file);
  r.variant = required_string(j, "variant", file);
  if (j.contains("group")) r.group = required_string(j, "group", file);
  if (!j.contains("seed") || !j["seed"].is_number_integer()) throw_user_error(file, "'seed' must be an integer");
  r.seed = j["seed"].get<int64_t>();
  if (!j.contains("metrics") || !j["metrics"].is_object()) throw_user_error(file, "'metrics' must be an object");
  for (const auto& [name, value] : j["metrics"].items()) {
    if (value.is_null()) continue;
    if (!value.is_number()) throw_user_error(file, "metric '" + name + "' must be a number or null");
    r.metrics[name] = value.get<double>();
    r.metric_order.push_back(name);
  }
  return r;
}

MetricSummary summarize(const std::vector<double>& xs) {
  MetricSummary s;
  s.n = static_cast<int64_t>(xs.size());
  for (double x : xs) s.mean += x;
  s.mean /= static_cast<double>(s.n);
  if (s.n > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

template <class T, class Key>
void append_unique(std::vector<T>& list, const Key& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

void check_known(const std::vector<std::string>& asked, const std::vector<std::string>& known,
                 const std::string& what) {
  for (const auto& a : asked)
    if (std::find(known.begin(), known.end(), a) == known.end())
      throw UserError("no run has the " + what + " '" + a + "'" + did_you_mean(a, known));
}

// Header + rows as cells, shared by both formats.
std::vector<std::vector<std::string>> table_cells(const ResultsTable& t) {
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> header;
  if (t.has_groups) header.push_back("group");
  header.push_back("variant");
  header.push_back("seeds");
  header.insert(header.end(), t.metrics.begin(), t.metrics.end());
  cells.push_back(header);
  for (const auto& row : t.rows) {
    std::vector<std::string> line;
    if (t.has_groups) line.push_back(row.group);
    line.push_back(row.variant);
    line.push_back(std::to_string(row.seeds));
    for (const auto& c : row.cells) {
      if (!c) {
        line.push_back("-");
        continue;
      }
      std::string text = format_summary(*c);
      if (c->n != row.seeds) text += " (n=" + std::to_string(c->n) + ")";
      line.push_back(text);
    }
    cells.push_back(line);
  }
  return cells;
}

// Display width in characters ("±" is one character but two bytes).
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

}  // namespace

std::vector<RunResult> read_run_results(const std::vector<std::string>& paths) {
  std::vector<RunResult> runs;
  std::map<std::tuple<std::string, std::string, int64_t>, std::string> seen;
  for (const auto& file : expand_paths(paths)) {
    RunResult r = parse_run_result(file);
    auto key = std::make_tuple(r.group, r.variant, r.seed);
    if (auto it = seen.find(key); it != seen.end())
      throw_user_error(file, "the same group, variant and seed as " + it->second);
    seen[key] = file;
    runs.push_back(std::move(r));
  }
  return runs;
}

ResultsTable summarize_results(const std::vector<RunResult>& runs, const std::vector<std::string>& metrics,
                               const std::vector<std::string>& variants) {
  if (runs.empty()) throw UserError("no result files to summarize");
  std::vector<std::string> all_metrics, all_variants, groups;
  for (const auto& r : runs) {
    for (const auto& m : r.metric_order) append_unique(all_metrics, m);
    append_unique(all_variants, r.variant);
    append_unique(groups, r.group);
  }
  check_known(metrics, all_metrics, "metric");
  check_known(variants, all_variants, "variant");
  ResultsTable t;
  t.method = runs.front().method;
  t.metrics = metrics.empty() ? all_metrics : metrics;
  t.has_groups = groups.size() > 1 || !groups.front().empty();
  const auto& row_variants = variants.empty() ? all_variants : variants;
  for (const auto& group : groups) {
    for (const auto& variant : row_variants) {
      ResultsRow row{group, variant, 0, {}};
      std::vector<std::vector<double>> values(t.metrics.size());
      for (const auto& r : runs) {
        if (r.group != group || r.variant != variant) continue;
        ++row.seeds;
        for (size_t m = 0; m < t.metrics.size(); ++m)
          if (auto it = r.metrics.find(t.metrics[m]); it != r.metrics.end()) values[m].push_back(it->second);
      }
      if (row.seeds == 0) continue;
      for (const auto& v : values) row.cells.push_back(v.empty() ? std::nullopt : std::optional(summarize(v)));
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

std::string format_summary(const MetricSummary& s) {
  const double a = std::fabs(s.mean);
  const int decimals = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 3 : 4;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, s.mean, decimals, s.sd);
  return buf;
}

std::string format_text(const ResultsTable& table) {
  auto cells = table_cells(table);
  std::vector<size_t> width(cells.front().size(), 0);
  for (const auto& line : cells)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], display_width(line[c]));
  std::string out;
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) {
      const std::string pad(width[c] - display_width(line[c]), ' ');
      out += c < 2 ? line[c] + pad : pad + line[c];  // names left, numbers right
      out += c + 1 < line.size() ? "  " : "\n";
    }
  }
  return out;
}

std::string format_markdown(const ResultsTable& table) {
  auto cells = table_cells(table);
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    out += "|";
    for (const auto& c : cells[i]) out += " " + c + " |";
    out += "\n";
    if (i == 0) {
      out += "|";
      for (size_t c = 0; c < cells[0].size(); ++c) out += c < 2 ? "---|" : "---:|";
      out += "\n";
    }
  }
  return out;
}

namespace {

// The value at a dotted key path (a number indexes an array), or nullptr when a part is missing.
const json* find_path(const json& j, const std::string& key) {
  const json* at = &j;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (at->is_array() && index) {
      const size_t i = std::stoul(part);
      if (i >= at->size()) return nullptr;
      at = &(*at)[i];
    } else if (at->is_object() && at->contains(part)) {
      at = &(*at)[part];
    } else {
      return nullptr;
    }
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

json metric_from_file(const std::string& spec, const std::string& file, const std::string& key) {
  const std::string text = read_file(file);
  const json* found = nullptr;
  json record, last;
  if (file.size() > 6 && file.compare(file.size() - 6, 6, ".jsonl") == 0) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) {
        record = json::parse(text.substr(start, end - start), nullptr, /*allow_exceptions=*/false);
        if (const json* v = find_path(record, key)) {
          last = *v;
          found = &last;
        }
      }
      start = end + 1;
    }
  } else {
    record = json::parse(text, nullptr, false);
    found = find_path(record, key);
  }
  if (!found) throw_user_error(file, "no '" + key + "' (metric " + spec + ")");
  if (!found->is_number() && !found->is_null()) throw_user_error(file, "'" + key + "' is not a number (metric " + spec + ")");
  return *found;
}

}  // namespace

std::pair<std::string, json> resolve_metric(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw UserError("metric '" + spec + "': expected name=value");
  const std::string name = spec.substr(0, eq), value = spec.substr(eq + 1);
  if (value == "null") return {name, nullptr};
  if (!value.empty() && value[0] == '@') {
    const size_t colon = value.rfind(':');
    if (colon == std::string::npos || colon < 2) throw UserError("metric '" + spec + "': expected name=@FILE:KEY");
    return {name, metric_from_file(spec, value.substr(1, colon - 1), value.substr(colon + 1))};
  }
  size_t used = 0;
  double number = 0;
  try {
    number = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size()) throw UserError("metric '" + spec + "': '" + value + "' is not a number");
  return {name, number};
}

void write_run_result(const std::string& path, const RunResult& identity, const json& settings,
                      const std::vector<std::string>& metric_specs) {
  nlohmann::ordered_json metrics = nlohmann::ordered_json::object();  // the columns keep this order
  for (const auto& spec : metric_specs) {
    auto [name, value] = resolve_metric(spec);
    metrics[name] = value;
  }
  nlohmann::ordered_json j;
  j["method"] = identity.method;
  j["variant"] = identity.variant;
  if (!identity.group.empty()) j["group"] = identity.group;
  j["seed"] = identity.seed;
  j["settings"] = settings.is_null() ? json::object() : settings;
  j["metrics"] = metrics;
  write_file_atomic(path, j.dump(2) + "\n");
}

std::string replace_marked_section(const std::string& doc, const std::string& body, const std::string& doc_path) {
  const std::string open = "<!-- results-table -->\n", close = "<!-- /results-table -->";
  const size_t a = doc.find(open);
  const size_t b = a == std::string::npos ? std::string::npos : doc.find(close, a);
  if (b == std::string::npos)
    throw_user_error(doc_path, "needs the lines '<!-- results-table -->' and '<!-- /results-table -->' "
                               "around the table to regenerate");
  return doc.substr(0, a + open.size()) + body + doc.substr(b);
}

}  // namespace lmlab::runlog
