// Detector directories and the n-gram detector's weights (see detector.h, ngram.h).
#include "lmlab/detect/detector.h"

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/detect/detect_config.h"
#include "lmlab/model/safetensors.h"

namespace lmlab::detect {

using nlohmann::json;

const std::vector<std::string>& detector_dir_files() {
  static const std::vector<std::string> files = {"detector.json", "ngram.safetensors"};
  return files;
}

json read_detector_json(const std::string& dir) {
  const std::string path = dir + "/detector.json";
  if (!file_exists(path)) throw_user_error(path, "not found: is " + dir + " a detector directory (`lmlab detect train`)?");
  json meta;
  try {
    meta = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw_user_error(path, std::string("not valid JSON: ") + e.what());
  }
  if (!meta.is_object() || !meta.contains("detector") || !meta["detector"].is_string())
    throw_user_error(path, "has no \"detector\" kind");
  return meta;
}

std::unique_ptr<Detector> load_detector(const std::string& dir, const torch::Device& device) {
  const json meta = read_detector_json(dir);
  const std::string kind = meta["detector"];
  try {
    if (kind == "ngram") return make_ngram_detector(dir, meta);
    if (kind == "lm_stats") return make_lm_stats_detector(dir, meta, device);
    if (kind == "encoder") return make_encoder_detector(dir, meta, device);
    if (kind == "instruct") return make_instruct_detector(dir, meta, device);
  } catch (const json::exception& e) {
    throw_user_error(dir + "/detector.json", std::string("incomplete: ") + e.what());
  }
  throw_user_error(dir + "/detector.json", "unknown detector '" + kind + "'" +
                                               did_you_mean(kind, {"ngram", "lm_stats", "encoder", "instruct"}));
}

namespace {

class NgramDetector : public Detector {
 public:
  explicit NgramDetector(NgramModel m) : m_(std::move(m)) {}
  std::vector<double> p_model(const std::vector<DetectExample>& xs) override {
    std::vector<double> p;
    for (const auto& ex : xs) p.push_back(m_.prob(ex.text));
    return p;
  }

 private:
  NgramModel m_;
};

json ngram_config_json(const NgramConfig& c) {
  return {{"hash_bits", c.hash_bits}, {"word_n", c.word_n}, {"char_n", c.char_n},
          {"epochs", c.epochs}, {"lr", c.lr}, {"l2", c.l2}};
}

}  // namespace

std::unique_ptr<Detector> make_ngram_detector(const std::string& dir, const json& meta) {
  NgramModel m;
  const json& c = meta.at("ngram");
  m.cfg.hash_bits = c.at("hash_bits");
  m.cfg.word_n = c.at("word_n").get<std::vector<int64_t>>();
  m.cfg.char_n = c.at("char_n").get<std::vector<int64_t>>();
  const std::string path = dir + "/ngram.safetensors";
  for (auto& [name, t] : model::load_safetensors(path)) {
    if (name == "w") {
      if (t.dim() != 1 || t.size(0) != (int64_t{1} << m.cfg.hash_bits))
        throw_user_error(path, "'w' does not have 2^hash_bits entries");
      torch::Tensor w = t.to(torch::kFloat32).contiguous();
      m.w.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    } else if (name == "b") {
      m.b = t.to(torch::kFloat32).item<float>();
    }
  }
  if (m.w.empty()) throw_user_error(path, "has no weights 'w'");
  return std::make_unique<NgramDetector>(std::move(m));
}

json train_ngram_detector(const DetectConfig& cfg, const std::string& dir) {
  if (cfg.train_files.empty()) throw UserError("detect.train_files: the n-gram detector trains on labelled texts");
  const auto train = subsample(read_detect_files(cfg.train_files), cfg.max_train, static_cast<uint64_t>(cfg.seed));
  NgramModel m = train_ngram(train, cfg.ngram, static_cast<uint64_t>(cfg.seed));
  torch::Tensor w = torch::from_blob(m.w.data(), {static_cast<int64_t>(m.w.size())}, torch::kFloat32).clone();
  model::save_safetensors(dir + "/ngram.safetensors", {{"w", w}, {"b", torch::tensor({m.b})}});
  int64_t nonzero = 0;
  for (float v : m.w) nonzero += v != 0.f;
  return {{"ngram", ngram_config_json(cfg.ngram)}, {"train_texts", train.size()},
          {"params", static_cast<int64_t>(m.w.size()) + 1}, {"nonzero_weights", nonzero}};
}

}  // namespace lmlab::detect
