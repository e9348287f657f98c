// Task "adapt": PYRA's training-inference efficient adaptation of a pre-trained ViT
// (docs/pyra.md). The backbone comes from train.init_from (a `classify` run on the source set);
// it is frozen except LoRA (lora_*) and PYRA (pyra_*); a fresh linear head trains with them:
//   logits = adapt_head(ViT_{ToMe, LoRA, PYRA}(images)[:, 0]),  loss = CE(logits, label)
// Images of another size than [model.image] size are resized (bilinear) on load, so a ViT
// pre-trained on 28x28 MNIST adapts to 16x16 USPS or 8x8 optdigits (.csv.gz rows: pixels, label).
#include <cmath>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/model/backbone.h"
#include "lmlab/model/vit.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/tasks/labelled_eval.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

// Rows "p_1,...,p_{s*s},label" (optdigits): images (N, 1, s, s) scaled by 1 / pixel_max.
LabelledSet read_csv_images(const std::string& path, double pixel_max) {
  std::istringstream in(read_file(path));
  std::vector<float> pixels;
  std::vector<int64_t> labels;
  std::string line;
  int64_t width = -1, row = 0;
  while (std::getline(in, line)) {
    ++row;
    if (line.empty()) continue;
    std::vector<double> v;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      try {
        v.push_back(std::stod(cell));
      } catch (const std::exception&) {
        throw_user_error(path, "line " + std::to_string(row) + ": '" + cell + "' is not a number");
      }
    }
    if (width < 0) width = static_cast<int64_t>(v.size());
    if (static_cast<int64_t>(v.size()) != width)
      throw_user_error(path, "line " + std::to_string(row) + ": " + std::to_string(v.size()) + " values, line 1 has " +
                                 std::to_string(width));
    for (size_t i = 0; i + 1 < v.size(); ++i) pixels.push_back(static_cast<float>(v[i] / pixel_max));
    labels.push_back(static_cast<int64_t>(v.back()));
  }
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(width - 1))));
  if (labels.empty() || side * side != width - 1)
    throw_user_error(path, "needs rows of side^2 pixels and a label; found " + std::to_string(width) + " values a row");
  LabelledSet s;
  s.path = path;
  s.images = torch::tensor(pixels).view({-1, 1, side, side});
  s.labels = torch::tensor(labels, torch::kInt64);
  return s;
}

// Records [range[0], range[1]) (end 0 = all) of `path`, resized to side x side.
LabelledSet load_images(const std::string& path, const std::vector<int64_t>& range, int64_t side, double pixel_max,
                        const char* key) {
  LabelledSet s = path.find(".csv") != std::string::npos ? read_csv_images(path, pixel_max)
                                                          : load_labelled_set(path, nullptr, {}, 0);
  if (s.is_text()) throw_user_error(path, "holds text; task.adapt adapts a ViT to images");
  if (range.size() != 2) throw UserError(std::string("task.adapt.") + key + " must be [begin, end]");
  const int64_t begin = range[0], end = range[1] == 0 ? s.size() : range[1];
  if (begin < 0 || end > s.size() || begin >= end)
    throw_user_error(path, std::string("task.adapt.") + key + " [" + std::to_string(range[0]) + ", " +
                               std::to_string(range[1]) + "] is outside its " + std::to_string(s.size()) + " records");
  s.images = s.images.slice(0, begin, end);
  s.labels = s.labels.slice(0, begin, end).contiguous();
  if (s.images.size(2) != side || s.images.size(3) != side)
    s.images = torch::nn::functional::interpolate(
        s.images, torch::nn::functional::InterpolateFuncOptions()
                      .size(std::vector<int64_t>{side, side})
                      .mode(torch::kBilinear)
                      .align_corners(false));
  s.images = s.images.contiguous();
  return s;
}

class AdapterImpl : public torch::nn::Module {
 public:
  AdapterImpl(const ModelConfig& cfg, int64_t n_classes) {
    backbone = register_module("backbone", model::Vit(cfg));
    adapt_head = register_module("adapt_head", torch::nn::Linear(cfg.d_model, n_classes));
  }
  torch::Tensor forward(const torch::Tensor& images) { return adapt_head(backbone->tokens(images).select(1, 0)); }

  model::Vit backbone{nullptr};
  torch::nn::Linear adapt_head{nullptr};
};
TORCH_MODULE(Adapter);

class AdaptTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    const AdaptConfig& ac = exp.task.adapt;
    bf16_ = env.bf16;
    if (exp.model.family != "vit") throw UserError("run.task = \"adapt\" needs [model] family = \"vit\"");
    if (exp.data.train_files.empty() && env.training) throw UserError("data.train_files: adapt needs training files");
    if (exp.data.eval_files.empty()) throw UserError("data.eval_files: adapt needs held-out files to score");
    const int64_t side = exp.model.image.size;
    if (env.training) {
      std::vector<LabelledSet> sets;
      for (const auto& f : exp.data.train_files)
        sets.push_back(load_images(f, ac.train_range, side, ac.csv_pixel_max, "train_range"));
      train_ = concat_sets(std::move(sets));
    }
    for (const auto& f : exp.data.eval_files)
      eval_sets_.push_back(load_images(f, ac.eval_range, side, ac.csv_pixel_max, "eval_range"));
    const LabelledSet& first = env.training ? train_ : eval_sets_[0];
    if (first.images.size(1) != exp.model.image.channels)
      throw_user_error(first.path, "images have " + std::to_string(first.images.size(1)) +
                                       " channels; [model.image] channels = " + std::to_string(exp.model.image.channels));
    int64_t& n = exp.task.adapt.n_classes;
    if (n == 0 && !env.training) throw UserError("task.adapt.n_classes: 0 needs the training files to count");
    if (n == 0) n = 1 + train_.labels.max().item<int64_t>();
    for (const LabelledSet* s : all_sets())
      if (s->labels.min().item<int64_t>() < 0 || s->labels.max().item<int64_t>() >= n)
        throw_user_error(s->path, "has a label outside [0, " + std::to_string(n) + ") (task.adapt.n_classes)");
    torch::manual_seed(static_cast<uint64_t>(exp.run.seed));
    model_ = Adapter(exp.model, n);
    batch_ = exp.train.batch_size;
    if (env.training) {
      const LabelledSet* train = &train_;
      source_ = std::make_unique<data::CollatedSource>(
          data::RecordSampler(train_.size(), batch_, static_cast<uint64_t>(exp.run.seed), env.rank, env.world_size),
          [train](const std::vector<int64_t>& idx) { return train->batch(idx, {}); });
    }
  }

  torch::nn::Module& module() override { return *model_; }
  // Every backbone weight except LoRA's and PYRA's (PYRA's code: requires_grad only for
  // names with 'LoRA', 'pyra', 'head').
  std::vector<std::string> frozen_patterns() const override {
    std::vector<std::string> out;
    for (const auto& p : model_->backbone->named_parameters(/*recurse=*/true))
      if (!is_adapted(p.key())) out.push_back("backbone." + p.key());
    return out;
  }
  data::BatchSource& train_source() override { return *source_; }
  std::string primary_metric() const override { return "acc"; }
  double train_flops_per_unit() const override { return model_->backbone->train_flops_per_sample(); }

  LossOutput loss(const data::NamedBatch& batch) override {
    torch::Tensor logits;
    {
      Autocast ac(bf16_);
      logits = model_->forward(batch.at("images")).to(torch::kFloat32);  // (B, C)
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
    const nlohmann::json counts = param_counts();
    for (const auto& [k, v] : counts.items()) out << k << " " << v.dump() << "\n";
    out << "tome_schedule";
    for (int64_t r : model_->backbone->tome_schedule()) out << " " << r;
    out << "\ntokens_per_layer";
    for (int64_t t : model_->backbone->token_counts()) out << " " << t;
    out << "\n";
    return out.str();
  }

 private:
  static bool is_adapted(const std::string& name) {
    return name.find("lora_") != std::string::npos || name.find("pyra_") != std::string::npos;
  }
  std::vector<const LabelledSet*> all_sets() const {
    std::vector<const LabelledSet*> out;
    if (train_.labels.defined()) out.push_back(&train_);
    for (const auto& s : eval_sets_) out.push_back(&s);
    return out;
  }
  nlohmann::json param_counts() const {
    int64_t lora = 0, head = 0, total = 0;
    for (const auto& p : model_->backbone->named_parameters()) {
      total += p.value().numel();
      if (p.key().find("lora_") != std::string::npos) lora += p.value().numel();
    }
    for (const auto& p : model_->adapt_head->parameters()) head += p.numel();
    const int64_t pyra = model_->backbone->pyra_params(true);
    return {{"trainable_params", lora + pyra + head}, {"lora_params", lora}, {"head_params", head},
            {"pyra_params", pyra}, {"pyra_params_paper", model_->backbone->pyra_params(false)},
            {"backbone_params", total - pyra - lora}};
  }

  LabelledSet train_;
  std::vector<LabelledSet> eval_sets_;
  std::unique_ptr<data::CollatedSource> source_;
  Adapter model_{nullptr};
  bool bf16_ = false;
  int64_t batch_ = 1;
};

nlohmann::json AdaptTask::evaluate(TaskEnv& env) {
  nlohmann::json out = evaluate_labelled_sets(eval_sets_, model_->adapt_head->weight.size(0), batch_, {}, env,
                                              [this](const data::NamedBatch& b) { return model_->forward(b.at("images")); });
  const nlohmann::json counts = param_counts();
  for (const auto& [k, v] : counts.items()) out[k] = v;
  out["final_tokens"] = model_->backbone->token_counts().back();
  return out;
}

}  // namespace

void register_adapt_task(TaskRegistry& r) {
  r.add("adapt", "PYRA / ToMe / LoRA adaptation of a pre-trained ViT: LoRA, PYRA and a new head train",
        [] { return std::make_unique<AdaptTask>(); });
}

}  // namespace lmlab::train
