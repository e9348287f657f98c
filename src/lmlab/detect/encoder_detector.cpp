// The encoder classifier (the paper's RoBERTa baseline): a `classify` checkpoint of our
// MLM-pre-trained encoder, P(model) = softmax(head(pooled(encoder([CLS] text [SEP]))))[1].
// With [task.classify] cls_token = false the sequence is the text alone (the official code's
// quirk) and the head reads the first text token. The model is the classify task's (train/tasks/classifier.h).
#include <cmath>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/detect/detect_config.h"
#include "lmlab/detect/detector.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/experiment.h"
#include "lmlab/train/model_state.h"
#include "lmlab/train/tasks/classifier.h"
#include "lmlab/train/tasks/encoder_inputs.h"

namespace lmlab::detect {

namespace {

struct LoadedClassifier {
  Experiment exp;
  train::Classifier model{nullptr};
  tokenizer::Tokenizer tok;
  train::EncoderSpecials sp;
};

LoadedClassifier load_classifier(const std::string& dir, const torch::Device& device) {
  const std::string ckpt = train::resolve_checkpoint(dir);
  train::CheckpointData data = train::read_checkpoint(ckpt);
  Experiment exp;
  config::apply_toml_text(config::Schema::of(exp), data.config_toml, ckpt + "/config.toml");
  if (exp.run.task != "classify" || exp.model.family != "encoder")
    throw_user_error(ckpt, "is a '" + exp.run.task + "' checkpoint of a " + exp.model.family +
                               "; the encoder detector needs a classify run of an encoder");
  if (exp.task.classify.n_classes != 2) throw_user_error(ckpt, "classifies into " + std::to_string(exp.task.classify.n_classes) + " classes, not 2");
  LoadedClassifier c{exp, train::Classifier(exp.model, 2, exp.task.classify.mode == "frozen"),
                     tokenizer::Tokenizer::load(data.tokenizer_path), {}};
  c.sp.text_vocab = c.tok.vocab_size();
  train::load_model_state(*c.model, data.model, ckpt + "/model.safetensors");
  c.model->to(device);
  c.model->eval();
  return c;
}

class EncoderDetector : public Detector {
 public:
  EncoderDetector(const std::string& checkpoint, const torch::Device& device)
      : c_(load_classifier(checkpoint, device)), device_(device) {}

  std::vector<double> p_model(const std::vector<DetectExample>& xs) override {
    torch::NoGradGuard no_grad;
    std::vector<double> out;
    const size_t B = static_cast<size_t>(std::max<int64_t>(1, c_.exp.train.batch_size));
    for (size_t start = 0; start < xs.size(); start += B) {
      std::vector<std::vector<int64_t>> seqs;
      for (size_t i = start; i < std::min(xs.size(), start + B); ++i)
        seqs.push_back(train::encoder_sequence(c_.tok, xs[i].text, c_.sp, c_.exp.data.seq_len, c_.exp.task.classify.cls_token));
      std::vector<const std::vector<int64_t>*> ptrs;
      for (const auto& s : seqs) ptrs.push_back(&s);
      data::NamedBatch b = train::pad_sequences(ptrs, c_.sp).to(device_);
      torch::Tensor p = torch::softmax(c_.model->forward(b).to(torch::kFloat32), 1);  // (B, 2)
      p = p.select(1, 1).to(torch::kFloat64).cpu();
      for (int64_t k = 0; k < p.size(0); ++k) out.push_back(p[k].item<double>());
    }
    return out;
  }

  int64_t params() const {
    int64_t n = 0;
    for (const auto& p : c_.model->parameters()) n += p.numel();
    return n;
  }

 private:
  LoadedClassifier c_;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<Detector> make_encoder_detector(const std::string&, const nlohmann::json& meta, const torch::Device& device) {
  return std::make_unique<EncoderDetector>(meta.at("checkpoint").get<std::string>(), device);
}

nlohmann::json train_encoder_detector(const DetectConfig& cfg, const torch::Device& device) {
  if (cfg.checkpoint.empty()) throw UserError("detect.checkpoint: the encoder detector wraps a classify run");
  EncoderDetector d(cfg.checkpoint, device);  // loads and checks it
  return {{"checkpoint", cfg.checkpoint}, {"params", d.params()}};
}

}  // namespace lmlab::detect
