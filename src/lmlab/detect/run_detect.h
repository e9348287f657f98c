// What `lmlab detect train | eval | predict` do (tools/cmd_detect.cpp only parses and prints).
#pragma once
#include <torch/torch.h>

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/detect/detect_config.h"
#include "lmlab/detect/hc3_data.h"

namespace lmlab::detect {

// `lmlab detect split`: the examples of `inputs` (either layout) hash-split by question
// (hc3_data.h) into prefix.{train,val,test}.jsonl, each side then cut to its max (0 = all), and
// prefix.{train,val}.txt: those texts one per line (newlines as spaces) for the tokenizer and
// the LM / MLM pre-training. Returns the counts per side and label.
struct SplitOptions {
  std::vector<std::string> inputs;
  std::string prefix;
  double val = 0.1, test = 0.1;
  int64_t seed = 1, max_train = 0, max_val = 0, max_test = 0;
};
nlohmann::json split_to_files(const SplitOptions& o);

// `lmlab detect sft-data`: the instruction detector's SFT records (instruct.h) of `inputs`.
int64_t write_sft_data(const std::vector<std::string>& inputs, const std::string& templates, const std::string& output,
                       int64_t text_bytes, int64_t seed);

// Fits the detector of cfg.detector and writes cfg.out_dir/detector.json (+ weights). Returns the JSON.
nlohmann::json train_detector(const DetectConfig& cfg);

// Scores of one labelled file, decision = P(model) >= 0.5:
//   acc, f1_model = 2 TP / (2 TP + FP + FN) with "model" positive, auroc of P(model) (rank sum),
//   confusion [[human->human, human->model], [model->human, model->model]].
nlohmann::json detection_metrics(const std::vector<double>& p_model, const std::vector<DetectExample>& xs);

struct FileEval {
  std::string path;
  std::vector<DetectExample> examples;
  std::vector<double> p_model;
  nlohmann::json metrics;
};
struct EvalReport {
  nlohmann::json detector;  // its detector.json
  std::vector<FileEval> files;
  nlohmann::json to_json() const;  // {"detector", "files": {name: metrics}}
};
// `max_per_file` > 0: the first that many examples by text hash (subsample()).
EvalReport evaluate_detector(const std::string& dir, const std::vector<std::string>& files, const torch::Device& device,
                             int64_t max_per_file);

// One result JSON per file in the results-table shape, into results_dir:
//   {"method": "hc3", "variant": variant, "group": group_prefix + file stem, "seed", "settings", "metrics"}
void write_results(const EvalReport& r, const std::string& results_dir, const std::string& variant,
                   const std::string& group_prefix);

// "label\tP(model)" per input: input lines of text (format "text"), or the examples of a
// JSONL file in either HC3 layout (format "jsonl"). Returns the number of predictions.
int64_t predict_stream(const std::string& dir, std::istream& in, const std::string& in_name, const std::string& format,
                       std::ostream& out, const torch::Device& device);

}  // namespace lmlab::detect
