// Task "classify": a backbone of [model] family (encoder for text, vit or cnn for images) with
// a classification head on its pooled features, trained with cross-entropy:
//   logits = head(pooled(x)),  loss = CE(logits, label)
//   [task.classify] mode: finetune    everything trains, head = Linear(d, n_classes)
//                         linear_probe backbone frozen (and in eval mode), head = Linear(d, n)
//                         frozen       backbone frozen (eval mode), head = Linear(d, d) GELU Linear(d, n)
// Training records are data.train_files (one kind), each of data.eval_files is scored on its
// own (accuracy, macro F1, confusion; binary sets also F1 of class 1 and AUROC).
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/tasks/classifier.h"
#include "lmlab/train/tasks/labelled_eval.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

class ClassifyTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    bf16_ = env.bf16;
    const ClassifyConfig& cc = exp.task.classify;
    if (exp.model.family == "decoder")
      throw UserError("run.task = \"classify\" needs [model] family = \"encoder\", \"vit\" or \"cnn\"");
    if (exp.data.train_files.empty() && env.training) throw UserError("data.train_files: classify needs training files");
    if (exp.data.eval_files.empty()) throw UserError("data.eval_files: classify needs held-out files to score");
    load_data(env);
    resolve_classes(exp);
    torch::manual_seed(static_cast<uint64_t>(exp.run.seed));
    model_ = Classifier(exp.model, exp.task.classify.n_classes, cc.mode == "frozen");
    frozen_backbone_ = cc.mode != "finetune";
    batch_ = exp.train.batch_size;
    if (env.training) {
      const LabelledSet* train = &train_;
      const EncoderSpecials sp = specials_;
      source_ = std::make_unique<data::CollatedSource>(
          data::RecordSampler(train_.size(), exp.train.batch_size, static_cast<uint64_t>(exp.run.seed), env.rank,
                              env.world_size),
          [train, sp](const std::vector<int64_t>& idx) { return train->batch(idx, sp); });
    }
  }

  torch::nn::Module& module() override { return *model_; }
  std::vector<std::string> frozen_patterns() const override {
    return frozen_backbone_ ? std::vector<std::string>{"backbone.*"} : std::vector<std::string>{};
  }
  data::BatchSource& train_source() override { return *source_; }
  std::string primary_metric() const override { return "acc"; }
  std::string tokenizer_path() const override { return tokenizer_path_; }

  double train_flops_per_unit() const override {
    double head = 0;
    for (const auto& p : model_->head->parameters()) head += static_cast<double>(p.numel());
    return model_->backbone->train_flops_per_sample() + 6.0 * head;
  }

  LossOutput loss(const data::NamedBatch& batch) override {
    if (frozen_backbone_) model_->backbone->eval();  // a feature extractor: no dropout, fixed norm statistics
    torch::Tensor logits;
    {
      Autocast ac(bf16_);
      logits = model_->forward(batch).to(torch::kFloat32);  // (B, C)
    }
    const torch::Tensor& y = batch.at("label");
    LossOutput out;
    out.loss = torch::nn::functional::cross_entropy(logits, y);
    out.extras["acc"] = logits.argmax(1).eq(y).to(torch::kFloat32).mean().detach();
    return out;
  }

  nlohmann::json evaluate(TaskEnv& env) override;


  std::string describe() override {
    std::ostringstream out;
    int64_t total = 0;
    for (const auto& p : model_->parameters()) total += p.numel();
    out << "total_params " << total << "\n"
        << "backbone_params " << model_->backbone->total_params() << "\n"
        << "train_flops_per_sample " << train_flops_per_unit() << "\n";
    return out.str();
  }

 private:
  void load_data(TaskEnv& env);
  void resolve_classes(Experiment& exp);

  EncoderSpecials specials_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::string tokenizer_path_;
  LabelledSet train_;
  std::vector<LabelledSet> eval_sets_;
  std::unique_ptr<data::CollatedSource> source_;
  Classifier model_{nullptr};
  bool frozen_backbone_ = false, bf16_ = false;
  int64_t batch_ = 1;
};

void ClassifyTask::load_data(TaskEnv& env) {
  Experiment& exp = env.exp;
  if (!exp.data.tokenizer.empty()) {
    tokenizer_path_ = exp.data.tokenizer;
    tok_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(tokenizer_path_));
    specials_.text_vocab = tok_->vocab_size();
    if (exp.model.family == "encoder") resolve_encoder_vocab(exp.model.vocab_size, specials_, tokenizer_path_);
  }
  const int64_t max_len = exp.data.seq_len;
  const bool cls = exp.task.classify.cls_token;
  if (env.training) {
    std::vector<LabelledSet> sets;
    for (const auto& f : exp.data.train_files) sets.push_back(load_labelled_set(f, tok_.get(), specials_, max_len, cls));
    train_ = concat_sets(std::move(sets));
  }
  for (const auto& f : exp.data.eval_files) eval_sets_.push_back(load_labelled_set(f, tok_.get(), specials_, max_len, cls));
  const LabelledSet& first = env.training ? train_ : eval_sets_[0];
  if (first.is_text() != (exp.model.family == "encoder"))
    throw_user_error(first.path, std::string("holds ") + (first.is_text() ? "text" : "images") +
                                     " but [model] family is \"" + exp.model.family + "\"");
  if (!first.is_text() && (first.images.size(1) != exp.model.image.channels || first.images.size(2) != exp.model.image.size ||
                           first.images.size(3) != exp.model.image.size))
    throw_user_error(first.path, "images are " + std::to_string(first.images.size(1)) + "x" +
                                     std::to_string(first.images.size(2)) + "x" + std::to_string(first.images.size(3)) +
                                     " (channels x height x width); [model.image] says " +
                                     std::to_string(exp.model.image.channels) + "x" + std::to_string(exp.model.image.size) +
                                     "x" + std::to_string(exp.model.image.size));
}

void ClassifyTask::resolve_classes(Experiment& exp) {
  int64_t& n = exp.task.classify.n_classes;
  if (n == 0 && !train_.labels.defined()) throw UserError("task.classify.n_classes: 0 needs the training files to count");
  if (n == 0) n = 1 + train_.labels.max().item<int64_t>();
  auto check = [n](const LabelledSet& s) {
    const int64_t lo = s.labels.min().item<int64_t>(), hi = s.labels.max().item<int64_t>();
    if (lo < 0 || hi >= n)
      throw_user_error(s.path, "has label " + std::to_string(lo < 0 ? lo : hi) + " outside [0, " + std::to_string(n) +
                                   ") (task.classify.n_classes)");
  };
  if (train_.labels.defined()) check(train_);
  for (const auto& s : eval_sets_) check(s);
}

nlohmann::json ClassifyTask::evaluate(TaskEnv& env) {
  return evaluate_labelled_sets(eval_sets_, model_->n_classes(), batch_, specials_, env,
                                [this](const data::NamedBatch& b) { return model_->forward(b); });
}

}  // namespace

void register_classify_task(TaskRegistry& r) {
  r.add("classify", "text (encoder) or image (vit, cnn) classification: fine-tune, linear probe or frozen backbone",
        [] { return std::make_unique<ClassifyTask>(); });
}

}  // namespace lmlab::train
