// Task "fuda": few-shot unsupervised domain adaptation (docs/cvisdit.md). A source domain with
// task.fuda.shots labelled images per class, an unlabelled target domain, one network
// (fuda_model.h), and per engine step two optimizer updates, as PCS / C-VisDiT step:
//   source update  w_cls CE(z_shots, y) [+ PCS: w_proto proto + w_i2c I2C + semi terms on the
//                  unlabelled source batch, shots left out of the semi terms]
//   target update  PCS: w_proto proto + w_i2c I2C + w_condentmax + w_entmin on the target batch
//                  [+ lambda_mixed L_X (X-VD) + lambda_target_mixed L_I (I-VD)]
// At each epoch start (eval mode): the X-VD / I-VD sets from the current predictions, then the
// classifier re-initialised from memory-bank prototypes, then k-means on both banks.
// Scored every epoch on the whole target set (the paper's protocol: it is also the training
// target set); the best and the last epoch's accuracy go to <run>/fuda_result.json.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/train/tasks/fuda_data.h"
#include "lmlab/train/tasks/fuda_model.h"
#include "lmlab/train/tasks/tasks.h"
#include "lmlab/train/tasks/visual_dispersal.h"

namespace lmlab {

DispersalSettings resolve_dispersal(const FudaConfig& c) {
  DispersalSettings d{0.95, 1.0, 0.25, 0.15, 0.75};  // office_a_d_1
  if (c.preset == "office_a_w_3") d = {0.75, 0.5, 0.1, 0.05, 0.95};
  if (c.preset == "officehome_ar_cl") d = {0.75, 1.0, 0.2, 0.25, 0.75};
  if (c.preset == "domainnet_c_s_1") d = {0.15, 0.75, 0.05, 0.03, 0.30};
  auto pick = [](double set, double& value) {
    if (set >= 0) value = set;
  };
  pick(c.confidence_ratio, d.confidence_ratio);
  pick(c.lambda_mixed, d.lambda_mixed);
  pick(c.lambda_target_mixed, d.lambda_target_mixed);
  pick(c.target_inside_ratio, d.target_inside_ratio);
  pick(c.target_inside_confidence, d.target_inside_confidence);
  for (double r : {d.confidence_ratio, d.target_inside_ratio, d.target_inside_confidence})
    if (r > 1) throw UserError("task.fuda: confidence_ratio, target_inside_ratio and target_inside_confidence are shares in [0, 1]");
  if (d.target_inside_confidence < d.target_inside_ratio)
    throw UserError("task.fuda.target_inside_confidence must be >= target_inside_ratio (easy + hard >= easy)");
  return d;
}

namespace train {

namespace {

namespace F = torch::nn::functional;

class FudaTask : public Task {
 public:
  void setup(TaskEnv& env) override;
  torch::nn::Module& module() override { return *model_; }
  data::BatchSource& train_source() override { return *stream_; }
  std::string primary_metric() const override { return "acc"; }
  LossOutput loss(const data::NamedBatch&) override { throw std::logic_error("fuda trains through train_step"); }
  int64_t units_per_batch(const data::NamedBatch& b) const override {
    return b.at("lbd_rows").size(0) + (pcs_ ? b.at("src_rows").size(0) + b.at("tgt_rows").size(0) : 0);
  }
  double train_flops_per_unit() const override { return model_->backbone->train_flops_per_sample(); }
  void train_step(StepEnv& s) override;
  void on_start(TaskEnv& env) override;
  nlohmann::json evaluate(TaskEnv& env) override;
  void on_end(TaskEnv& env, int64_t step) override;
  nlohmann::json log_extras() override;
  std::string describe() override;

 private:
  void prepare_epoch(int64_t epoch);
  torch::Tensor source_loss(const data::NamedBatch& b);
  torch::Tensor target_loss(const data::NamedBatch& b);
  torch::Tensor xvd_loss();
  torch::Tensor ivd_loss();
  std::vector<Clustering> cluster(const torch::Tensor& bank, int64_t epoch, uint64_t domain) const;
  torch::Tensor all_logits(const torch::Tensor& images, torch::Tensor* features);  // eval pass, batched
  torch::Tensor aug(const torch::Tensor& x) const { return random_shift(x, cfg_.shift).to(device_); }
  void note(const std::string& name, const torch::Tensor& v) { parts_[name].push_back(v.detach().item<double>()); }

  FudaConfig cfg_;
  DispersalSettings disp_{};
  Experiment* exp_ = nullptr;
  torch::Device device_{torch::kCPU};
  int64_t C_ = 0, batch_ = 64, steps_per_epoch_ = 1, prepared_epoch_ = 0, seed_ = 0;
  bool pcs_ = false, xvd_ = false, ivd_ = false;
  Domain source_, target_;                     // images already brought to the model's input
  torch::Tensor shot_rows_, shot_labels_, is_shot_;  // (K), (K), (N_s) bool
  std::unique_ptr<FudaSource> stream_;
  FudaModel model_{nullptr};
  std::vector<Clustering> clusters_src_, clusters_tgt_;
  std::unique_ptr<MomentumSoftmax> ms_src_, ms_tgt_;
  // This epoch's X-VD and I-VD sets.
  torch::Tensor pred_, nearest_, confident_, easy_;  // (N_t) pseudo-labels, (N_t) shot index, (N_t) mask, (E)
  RowCycler xvd_rows_, ivd_rows_;
  std::mt19937_64 partner_rng_;
  std::map<std::string, std::vector<double>> parts_;  // loss terms since the last log line
  double best_acc_ = -1, last_acc_ = -1;
  int64_t best_epoch_ = 0, evals_ = 0;
};

void FudaTask::setup(TaskEnv& env) {
  Experiment& exp = env.exp;
  exp_ = &exp;
  cfg_ = exp.task.fuda;
  device_ = env.device;
  seed_ = exp.run.seed;
  if (env.world_size != 1) throw UserError("run.task = \"fuda\" runs in one process (its memory banks are not sharded)");
  if (exp.model.family != "cnn" && exp.model.family != "vit")
    throw UserError("run.task = \"fuda\" needs an image backbone: [model] family = \"cnn\" or \"vit\"");
  if (exp.model.image.channels != 1) throw UserError("model.image.channels: the fuda task feeds grey images (1)");
  if (exp.train.grad_accum != 1) throw UserError("train.grad_accum: the fuda task steps once per batch (1)");
  disp_ = resolve_dispersal(cfg_);
  pcs_ = cfg_.method != "source_only";
  xvd_ = (cfg_.method == "cvisdit" || cfg_.method == "xvd_only") && disp_.lambda_mixed > 0;
  ivd_ = (cfg_.method == "cvisdit" || cfg_.method == "ivd_only") && disp_.lambda_target_mixed > 0;
  batch_ = exp.train.batch_size;

  const Domain src = read_domain(cfg_.source), tgt = read_domain(cfg_.target);
  const auto subset = static_cast<uint64_t>(cfg_.subset_seed);
  source_ = take(src, random_subset(src.size(), cfg_.max_source, subset * 2 + 1));
  target_ = take(tgt, random_subset(tgt.size(), cfg_.max_target, subset * 2 + 2));
  source_.images = to_input(source_.images, exp.model.image.size, cfg_.normalise);
  target_.images = to_input(target_.images, exp.model.image.size, cfg_.normalise);
  C_ = 1 + std::max(source_.labels.max().item<int64_t>(), target_.labels.max().item<int64_t>());
  if (cfg_.group.empty())
    cfg_.group = std::filesystem::path(cfg_.source).stem().string() + " -> " +
                 std::filesystem::path(cfg_.target).stem().string();
  std::vector<int64_t> shots = sample_shots(source_.labels, C_, cfg_.shots, static_cast<uint64_t>(seed_), cfg_.source);
  shot_rows_ = torch::tensor(shots, torch::kInt64);
  shot_labels_ = source_.labels.index_select(0, shot_rows_);
  is_shot_ = torch::zeros({source_.size()}, torch::kBool).index_fill_(0, shot_rows_, true);

  torch::manual_seed(static_cast<uint64_t>(seed_));
  model_ = FudaModel(exp.model, cfg_.feature_dim, C_, cfg_.cls_temperature, source_.size(), target_.size());
  stream_ = std::make_unique<FudaSource>(source_.images, target_.images, shot_rows_, shot_labels_, batch_,
                                         cfg_.labelled_batch, static_cast<uint64_t>(seed_));
  steps_per_epoch_ = stream_->batches_per_epoch();
  partner_rng_.seed(static_cast<uint64_t>(seed_) * 31 + 5);
}


// PCS initialises the memory banks with the initial network's features (load_memory_bank).
void FudaTask::on_start(TaskEnv& env) {
  if (env.resume || !pcs_) return;
  model_->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor fs, ft;
  all_logits(source_.images, &fs);
  all_logits(target_.images, &ft);
  model_->bank_source.copy_(fs);
  model_->bank_target.copy_(ft);
  model_->pseudo_source.index_copy_(0, shot_rows_.to(device_), shot_labels_.to(device_));
  model_->train();
}

torch::Tensor FudaTask::all_logits(const torch::Tensor& images, torch::Tensor* features) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> z, f;
  for (int64_t i = 0; i < images.size(0); i += 256) {
    torch::Tensor fi = model_->features(images.slice(0, i, std::min(images.size(0), i + 256)).to(device_));
    f.push_back(fi);
    z.push_back(model_->logits(fi));
  }
  if (features) *features = torch::cat(f);
  return torch::cat(z);  // (N, C)
}

// k in {C, 2C}, each run kmeans_repeats times with its own seed (the paper's k_list = k * n_k).
std::vector<Clustering> FudaTask::cluster(const torch::Tensor& bank, int64_t epoch, uint64_t domain) const {
  std::vector<Clustering> runs;
  torch::Tensor x = bank.cpu();
  for (int64_t r = 0; r < cfg_.kmeans_repeats; ++r)
    for (int64_t k : {C_, 2 * C_}) {
      const uint64_t seed = ((static_cast<uint64_t>(seed_) * 1000 + static_cast<uint64_t>(epoch)) * 100 +
                             static_cast<uint64_t>(r)) * 8 + domain * 4 + static_cast<uint64_t>(k == C_);
      runs.push_back(spherical_kmeans(x, std::min(k, x.size(0)), cfg_.kmeans_iters, seed, cfg_.phi_alpha));
    }
  return runs;
}

void FudaTask::prepare_epoch(int64_t epoch) {
  prepared_epoch_ = epoch;
  if (!pcs_) return;
  model_->eval();
  torch::NoGradGuard no_grad;
  if (xvd_ || ivd_) {
    torch::Tensor ft, fs;
    torch::Tensor probs = torch::softmax(all_logits(target_.images, &ft), 1).cpu();  // (N_t, C)
    all_logits(source_.images.index_select(0, shot_rows_), &fs);                    // (K, d)
    torch::Tensor entropy = prediction_entropy(probs);
    pred_ = probs.argmax(1);
    const auto round_seed = static_cast<uint64_t>(seed_) * 7919 + static_cast<uint64_t>(epoch);
    if (xvd_) {
      nearest_ = nearest_source(ft.cpu(), fs.cpu());
      confident_ = confident_mask(entropy, disp_.confidence_ratio);
      std::vector<int64_t> all(static_cast<size_t>(target_.size()));
      for (int64_t i = 0; i < target_.size(); ++i) all[i] = i;
      xvd_rows_ = RowCycler(all, batch_, round_seed * 2);
    }
    if (ivd_) {
      ConfidenceSplit split = three_way_split(entropy, disp_.target_inside_ratio, disp_.target_inside_confidence);
      easy_ = split.easy;
      const auto* h = split.hard.data_ptr<int64_t>();
      ivd_rows_ = RowCycler(std::vector<int64_t>(h, h + split.hard.size(0)), batch_, round_seed * 2 + 1);
    }
  }
  // _load_fewshot_to_cls_weight ("src-tgt"): source pseudo-labels (the shots and confident
  // unlabelled source) first, then target prototypes of well-populated classes.
  model_->cls->load_prototypes(model_->bank_source, model_->pseudo_source, 1);
  if (epoch >= cfg_.proto_target_epoch)
    model_->cls->load_prototypes(model_->bank_target, model_->pseudo_target, cfg_.proto_target_min);
  clusters_src_ = cluster(model_->bank_source, epoch, 0);
  clusters_tgt_ = cluster(model_->bank_target, epoch, 1);
  // MIM running means restart with each pass (their start weight: batches per pass, as PCS).
  ms_src_ = std::make_unique<MomentumSoftmax>(C_, static_cast<double>(steps_per_epoch_));
  ms_tgt_ = std::make_unique<MomentumSoftmax>(C_, static_cast<double>(steps_per_epoch_));
  model_->train();
}

void FudaTask::train_step(StepEnv& s) {
  const int64_t epoch = 1 + s.step() / steps_per_epoch_;
  if (epoch != prepared_epoch_) prepare_epoch(epoch);
  const data::NamedBatch b = s.next_batch();
  LossOutput src;
  src.loss = source_loss(b);
  note("loss_source", src.loss);
  s.backward(src);
  s.update();
  if (!pcs_) return;
  LossOutput tgt;
  tgt.loss = target_loss(b);
  note("loss_target", tgt.loss);
  s.backward(tgt);
  s.update();
}

// Pseudo-labels of the rows whose top softmax exceeds thres, -1 for the others.
void set_pseudo(torch::Tensor& pseudo, const torch::Tensor& rows, const torch::Tensor& logits, double thres) {
  torch::Tensor p = torch::softmax(logits.detach(), 1);
  auto [top, arg] = p.max(1);
  pseudo.index_copy_(0, rows, torch::where(top > thres, arg, torch::full_like(arg, -1)));
}

torch::Tensor FudaTask::source_loss(const data::NamedBatch& b) {
  torch::Tensor f_lbd = model_->features(aug(b.at("lbd_images")));
  torch::Tensor cls = F::cross_entropy(model_->logits(f_lbd), b.at("lbd_label"));
  note("cls", cls);
  torch::Tensor loss = cfg_.w_cls * cls;
  if (!pcs_) return loss;
  const torch::Tensor& rows = b.at("src_rows");
  torch::Tensor f = model_->features(aug(b.at("src_images")));
  torch::Tensor z = model_->logits(f);
  torch::Tensor proto = proto_loss(f, rows, clusters_src_), i2c = i2c_loss(f, clusters_tgt_, cfg_.i2c_temperature);
  torch::Tensor semi = is_shot_.to(rows.device()).index_select(0, rows).logical_not();
  torch::Tensor z_semi = z.index({semi}), semi_rows = rows.index({semi});
  note("proto_src", proto);
  note("i2c_src", i2c);
  loss = loss + cfg_.w_proto * proto + cfg_.w_i2c * i2c;
  if (z_semi.size(0) > 0) {
    loss = loss + cfg_.w_semi_condentmax * ms_src_->condentmax(z_semi) + cfg_.w_semi_entmin * mean_entropy(z_semi);
    set_pseudo(model_->pseudo_source, semi_rows, z_semi, cfg_.thres_src);
  }
  torch::NoGradGuard no_grad;  // the banks take the features from before this update, as PCS
  torch::Tensor& bank = model_->bank_source;
  bank.index_copy_(0, rows, bank_update(bank.index_select(0, rows), f.detach(), cfg_.bank_momentum));
  const torch::Tensor& shots = b.at("lbd_rows");
  bank.index_copy_(0, shots, bank_update(bank.index_select(0, shots), f_lbd.detach(), cfg_.shot_bank_momentum));
  return loss;
}

torch::Tensor FudaTask::target_loss(const data::NamedBatch& b) {
  const torch::Tensor& rows = b.at("tgt_rows");
  torch::Tensor f = model_->features(aug(b.at("tgt_images")));
  torch::Tensor z = model_->logits(f);
  torch::Tensor proto = proto_loss(f, rows, clusters_tgt_), i2c = i2c_loss(f, clusters_src_, cfg_.i2c_temperature);
  note("proto_tgt", proto);
  note("i2c_tgt", i2c);
  torch::Tensor loss = cfg_.w_proto * proto + cfg_.w_i2c * i2c + cfg_.w_tgt_condentmax * ms_tgt_->condentmax(z) +
                       cfg_.w_tgt_entmin * mean_entropy(z);
  set_pseudo(model_->pseudo_target, rows, z, cfg_.thres_tgt);
  if (xvd_) loss = loss + disp_.lambda_mixed * xvd_loss();
  if (ivd_) loss = loss + disp_.lambda_target_mixed * ivd_loss();
  torch::NoGradGuard no_grad;
  torch::Tensor& bank = model_->bank_target;
  bank.index_copy_(0, rows, bank_update(bank.index_select(0, rows), f.detach(), cfg_.bank_momentum));
  return loss;
}

// Every target with its nearest labelled source; only the confident rows count.
torch::Tensor FudaTask::xvd_loss() {
  torch::Tensor rows = torch::tensor(xvd_rows_.next(), torch::kInt64);
  torch::Tensor partner = nearest_.index_select(0, rows);
  torch::Tensor x2 = aug(source_.images.index_select(0, shot_rows_.index_select(0, partner)));
  Mixed m = mix(aug(target_.images.index_select(0, rows)), pred_.index_select(0, rows), x2,
                shot_labels_.index_select(0, partner), mix_lambdas(rows.size(0), cfg_.mixup_alpha), C_);
  torch::Tensor z = model_->logits(model_->features(m.images.to(device_)));
  torch::Tensor l = masked_mean(soft_cross_entropy(z, m.soft.to(device_)), confident_.index_select(0, rows).to(device_));
  note("xvd", l);
  return l;
}

// Hard targets, each with a random member of easy targets + labelled source.
torch::Tensor FudaTask::ivd_loss() {
  if (ivd_rows_.empty()) return torch::zeros({}, torch::TensorOptions().device(device_));
  std::vector<int64_t> hard = ivd_rows_.next();
  const int64_t E = easy_.size(0), K = shot_rows_.size(0);
  std::vector<torch::Tensor> x2;
  std::vector<int64_t> y2;
  for (size_t i = 0; i < hard.size(); ++i) {
    const auto r = static_cast<int64_t>(partner_rng_() % static_cast<uint64_t>(E + K));
    const int64_t row = r < E ? easy_[r].item<int64_t>() : shot_rows_[r - E].item<int64_t>();
    x2.push_back(r < E ? target_.images[row] : source_.images[row]);
    y2.push_back(r < E ? pred_[row].item<int64_t>() : shot_labels_[r - E].item<int64_t>());
  }
  torch::Tensor rows = torch::tensor(hard, torch::kInt64);
  Mixed m = mix(aug(target_.images.index_select(0, rows)), pred_.index_select(0, rows), aug(torch::stack(x2)),
                torch::tensor(y2, torch::kInt64), mix_lambdas(rows.size(0), cfg_.mixup_alpha), C_);
  torch::Tensor l = soft_cross_entropy(model_->logits(model_->features(m.images.to(device_))), m.soft.to(device_)).mean();
  note("ivd", l);
  return l;
}

nlohmann::json FudaTask::evaluate(TaskEnv&) {
  torch::NoGradGuard no_grad;
  torch::Tensor z = all_logits(target_.images, nullptr);
  torch::Tensor y = target_.labels.to(z.device());
  const double acc = z.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
  const double loss = F::cross_entropy(z, y).item<double>();
  ++evals_;
  last_acc_ = acc;
  if (acc > best_acc_) {
    best_acc_ = acc;
    best_epoch_ = prepared_epoch_;
  }
  return {{"acc", acc}, {"val_loss", loss}, {"best_acc", best_acc_}, {"epoch", prepared_epoch_}};
}

void FudaTask::on_end(TaskEnv& env, int64_t step) {
  if (!env.main) return;
  const Experiment& e = *exp_;
  nlohmann::json settings = {
      {"source", cfg_.source}, {"target", cfg_.target}, {"shots", cfg_.shots}, {"n_source", source_.size()},
      {"n_target", target_.size()}, {"image_size", e.model.image.size}, {"cnn_channels", e.model.cnn.channels},
      {"epochs", (step + steps_per_epoch_ - 1) / steps_per_epoch_}, {"steps", step}, {"batch_size", batch_},
      {"lr", e.train.lr}, {"normalise", cfg_.normalise}, {"preset", cfg_.preset},
      {"confidence_ratio", disp_.confidence_ratio}, {"lambda_mixed", disp_.lambda_mixed},
      {"lambda_target_mixed", disp_.lambda_target_mixed}, {"target_inside_ratio", disp_.target_inside_ratio},
      {"target_inside_confidence", disp_.target_inside_confidence}, {"best_epoch", best_epoch_}};
  nlohmann::json result = {{"method", "cvisdit"}, {"variant", cfg_.method}, {"group", cfg_.group},
                           {"seed", seed_}, {"settings", settings},
                           {"metrics", {{"best_acc", 100 * best_acc_}, {"last_acc", 100 * last_acc_}}}};
  write_file_atomic(env.run_dir + "/fuda_result.json", result.dump(2) + "\n");
}

nlohmann::json FudaTask::log_extras() {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, values] : parts_)
    if (!values.empty()) {
      double sum = 0;
      for (double v : values) sum += v;
      out[name] = sum / static_cast<double>(values.size());
    }
  parts_.clear();
  return out;
}

std::string FudaTask::describe() {
  std::ostringstream out;
  int64_t total = 0;
  for (const auto& p : model_->parameters()) total += p.numel();
  out << "total_params " << total << "\nbackbone_params " << model_->backbone->total_params() << "\n"
      << "source_images " << source_.size() << "\ntarget_images " << target_.size() << "\nshots "
      << shot_rows_.size(0) << "\nsteps_per_epoch " << steps_per_epoch_ << "\n";
  return out.str();
}

}  // namespace

void register_fuda_task(TaskRegistry& r) {
  r.add("fuda", "few-shot unsupervised domain adaptation: source only, PCS, C-VisDiT (X-VD + I-VD) and ablations",
        [] { return std::make_unique<FudaTask>(); });
}

}  // namespace train
}  // namespace lmlab
