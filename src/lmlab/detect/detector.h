// One interface for the four detectors of `lmlab detect` (docs/hc3.md): a trained detector
// lives in a directory holding detector.json ({"detector": kind, settings, "params",
// "train_seconds"} plus what the kind needs) and gives P(model | text) per text.
// Every kind decides "model" when p >= 0.5 (a majority vote's tie, p = 0.5, counts as model).
//   ngram      hashed n-gram logistic regression, ngram.safetensors             (ngram.h)
//   lm_stats   mean log-likelihood or mean log-rank under our LM, a validation threshold (lm_stats.h)
//   encoder    a `classify` checkpoint of our MLM-pre-trained encoder           (encoder_detector.cpp)
//   instruct   an `sft` checkpoint of our decoder answering "human"/"model"     (instruct.h)
#pragma once
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/detect/hc3_data.h"

namespace lmlab::detect {

struct DetectConfig;

class Detector {
 public:
  virtual ~Detector() = default;
  // P(model | text) per example, in input order.
  virtual std::vector<double> p_model(const std::vector<DetectExample>& xs) = 0;
};

// The detector of directory `dir` (its detector.json says the kind); UserError naming the file
// when it is missing or not one of ours.
std::unique_ptr<Detector> load_detector(const std::string& dir, const torch::Device& device);
nlohmann::json read_detector_json(const std::string& dir);
// The files a detector directory holds (detector.json, ngram.safetensors): a directory with only
// these is an earlier detector that `lmlab detect train` may overwrite (common/output_dir.h).
const std::vector<std::string>& detector_dir_files();

// Constructors per kind (dir = the detector directory, meta = its detector.json).
std::unique_ptr<Detector> make_ngram_detector(const std::string& dir, const nlohmann::json& meta);
std::unique_ptr<Detector> make_lm_stats_detector(const std::string& dir, const nlohmann::json& meta, const torch::Device& device);
std::unique_ptr<Detector> make_encoder_detector(const std::string& dir, const nlohmann::json& meta, const torch::Device& device);
std::unique_ptr<Detector> make_instruct_detector(const std::string& dir, const nlohmann::json& meta, const torch::Device& device);

// `lmlab detect train` per kind: fits what the kind fits and returns its detector.json fields
// (ngram writes its weights into `dir`). The neural kinds wrap a checkpoint of `lmlab train`.
nlohmann::json train_ngram_detector(const DetectConfig& cfg, const std::string& dir);
nlohmann::json train_lm_stats_detector(const DetectConfig& cfg, const torch::Device& device);
nlohmann::json train_encoder_detector(const DetectConfig& cfg, const torch::Device& device);
nlohmann::json train_instruct_detector(const DetectConfig& cfg, const torch::Device& device);

}  // namespace lmlab::detect
