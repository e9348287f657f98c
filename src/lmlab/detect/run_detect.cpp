// `lmlab detect` drivers (see run_detect.h).
#include "lmlab/detect/run_detect.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "lmlab/data/record_lines.h"
#include "lmlab/detect/detector.h"
#include "lmlab/detect/instruct.h"
#include "lmlab/train/device.h"
#include "lmlab/train/tasks/class_metrics.h"

namespace lmlab::detect {

using nlohmann::json;

namespace {

// P(model) of every example, in chunks so long files show progress.
std::vector<double> score_all(Detector& d, const std::vector<DetectExample>& xs, const std::string& label) {
  constexpr size_t kChunk = 64;
  Progress progress(label, static_cast<int64_t>(xs.size()), "texts");
  std::vector<double> p;
  for (size_t start = 0; start < xs.size(); start += kChunk) {
    std::vector<DetectExample> chunk(xs.begin() + static_cast<std::ptrdiff_t>(start),
                                     xs.begin() + static_cast<std::ptrdiff_t>(std::min(xs.size(), start + kChunk)));
    for (double v : d.p_model(chunk)) p.push_back(v);
    progress.update(static_cast<int64_t>(p.size()));
  }
  progress.finish();
  return p;
}

std::string stem(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  const auto dot = name.rfind(".jsonl");
  return dot == std::string::npos ? name : name.substr(0, dot);
}

json counts(const std::vector<DetectExample>& xs) {
  int64_t model = 0;
  for (const auto& ex : xs) model += ex.label == kModel;
  return {{"examples", xs.size()}, {"human", static_cast<int64_t>(xs.size()) - model}, {"model", model}};
}

// The texts one per line, their own line breaks as spaces (for `data prepare --doc-split line`).
std::string text_lines(const std::vector<DetectExample>& xs) {
  std::string text;
  for (const auto& ex : xs) {
    std::string line = ex.text;
    for (char& c : line)
      if (c == '\n' || c == '\r') c = ' ';
    text += line + "\n";
  }
  return text;
}

}  // namespace

json split_to_files(const SplitOptions& o) {
  if (o.prefix.empty()) throw UserError("detect split: --output-prefix is required");
  const Split s = hash_split(read_detect_files(o.inputs), o.val, o.test, static_cast<uint64_t>(o.seed));
  const auto train = subsample(s.train, o.max_train, static_cast<uint64_t>(o.seed));
  const auto val = subsample(s.val, o.max_val, static_cast<uint64_t>(o.seed));
  const auto test = subsample(s.test, o.max_test, static_cast<uint64_t>(o.seed));
  const auto parent = std::filesystem::path(o.prefix).parent_path();
  if (!parent.empty()) make_dirs(parent.string());
  write_detect_jsonl(o.prefix + ".train.jsonl", train);
  write_detect_jsonl(o.prefix + ".val.jsonl", val);
  write_detect_jsonl(o.prefix + ".test.jsonl", test);
  write_file_atomic(o.prefix + ".train.txt", text_lines(train));
  write_file_atomic(o.prefix + ".val.txt", text_lines(val));
  return {{"train", counts(train)}, {"val", counts(val)}, {"test", counts(test)}};
}

int64_t write_sft_data(const std::vector<std::string>& inputs, const std::string& templates, const std::string& output,
                       int64_t text_bytes, int64_t seed) {
  const auto ts = read_templates(templates);
  const auto records = instruct_training_set(ts, read_detect_files(inputs), text_bytes, static_cast<uint64_t>(seed));
  write_instructions_jsonl(output, records);
  return static_cast<int64_t>(records.size());
}

json train_detector(const DetectConfig& cfg) {
  if (cfg.out_dir.empty()) throw UserError("detect.out_dir: where to write the detector");
  const auto t0 = std::chrono::steady_clock::now();
  make_dirs(cfg.out_dir);
  const torch::Device device = train::pick_device(cfg.device);
  json meta;
  if (cfg.detector == "ngram") meta = train_ngram_detector(cfg, cfg.out_dir);
  else if (cfg.detector == "lm_stats") meta = train_lm_stats_detector(cfg, device);
  else if (cfg.detector == "encoder") meta = train_encoder_detector(cfg, device);
  else meta = train_instruct_detector(cfg, device);
  const double own = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  meta["detector"] = cfg.detector;
  meta["seed"] = cfg.seed;
  meta["detect_train_seconds"] = own;
  meta["train_seconds"] = own + cfg.base_train_seconds;
  write_file_atomic(cfg.out_dir + "/detector.json", meta.dump(2) + "\n");
  return meta;
}

json detection_metrics(const std::vector<double>& p_model, const std::vector<DetectExample>& xs) {
  int64_t cm[2][2] = {{0, 0}, {0, 0}};
  std::vector<int64_t> labels;
  for (size_t i = 0; i < xs.size(); ++i) {
    ++cm[xs[i].label][decide(p_model[i])];
    labels.push_back(xs[i].label);
  }
  const int64_t tp = cm[1][1], fp = cm[0][1], fn = cm[1][0], n = static_cast<int64_t>(xs.size());
  const double auroc = train::auroc(torch::tensor(p_model, torch::kFloat64), torch::tensor(labels, torch::kInt64));
  json m = {{"records", n},
            {"acc", n == 0 ? 0.0 : static_cast<double>(cm[0][0] + tp) / static_cast<double>(n)},
            {"f1_model", tp + fp + fn == 0 ? 0.0 : 2.0 * tp / static_cast<double>(2 * tp + fp + fn)},
            {"confusion", {{cm[0][0], cm[0][1]}, {cm[1][0], cm[1][1]}}}};
  m["auroc"] = std::isnan(auroc) ? json(nullptr) : json(auroc);
  return m;
}

json EvalReport::to_json() const {
  json files_json = json::object();
  for (const auto& f : files) files_json[std::filesystem::path(f.path).filename().string()] = f.metrics;
  return {{"detector", detector}, {"files", files_json}};
}

EvalReport evaluate_detector(const std::string& dir, const std::vector<std::string>& files, const torch::Device& device,
                             int64_t max_per_file) {
  if (files.empty()) throw UserError("detect eval: give at least one --data file");
  EvalReport r;
  r.detector = read_detector_json(dir);
  std::vector<FileEval> loaded;  // read every file before the (slow) model loads: bad input fails fast
  for (const auto& f : files) loaded.push_back({f, subsample(read_detect_file(f), max_per_file, 1), {}, {}});
  auto det = load_detector(dir, device);
  for (auto& f : loaded) {
    f.p_model = score_all(*det, f.examples, std::filesystem::path(f.path).filename().string());
    f.metrics = detection_metrics(f.p_model, f.examples);
  }
  r.files = std::move(loaded);
  return r;
}

void write_results(const EvalReport& r, const std::string& results_dir, const std::string& variant,
                   const std::string& group_prefix) {
  make_dirs(results_dir);
  json settings = r.detector;
  settings.erase("detector");
  for (const auto& f : r.files) {
    const std::string group = group_prefix + stem(f.path);
    json metrics = {{"acc", f.metrics["acc"]},
                    {"f1_model", f.metrics["f1_model"]},
                    {"auroc", f.metrics["auroc"]},
                    {"train_s", r.detector.value("train_seconds", 0.0)},
                    {"params", r.detector.value("params", 0)},
                    {"records", f.metrics["records"]}};
    json out = {{"method", "hc3"}, {"variant", variant}, {"group", group}, {"seed", r.detector.value("seed", 1)},
                {"settings", settings}, {"metrics", metrics}};
    std::string name = group + "-" + variant + ".json";
    for (char& c : name)
      if (c == '/') c = '-';
    write_file_atomic(results_dir + "/" + name, out.dump(2) + "\n");
  }
}

int64_t predict_stream(const std::string& dir, std::istream& in, const std::string& in_name, const std::string& format,
                       std::ostream& out, const torch::Device& device) {
  std::stringstream buf;
  buf << in.rdbuf();
  std::vector<DetectExample> xs;
  if (format == "jsonl") {
    xs = read_detect_text(in_name, buf.str());
  } else {
    for (const auto& line : data::split_lines(buf.str())) xs.push_back({line.text, kHuman, ""});
  }
  if (xs.empty()) return 0;
  auto det = load_detector(dir, device);
  const std::vector<double> p = score_all(*det, xs, "predict");
  for (double v : p) out << label_word(decide(v)) << "\t" << v << "\n";
  return static_cast<int64_t>(p.size());
}

}  // namespace lmlab::detect
