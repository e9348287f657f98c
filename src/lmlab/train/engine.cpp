// The training loop (what one step does is described in engine.h).
#include "lmlab/train/engine.h"


#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"
#include "lmlab/common/progress.h"
#include "lmlab/config/config.h"
#include "lmlab/runlog/metrics.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/cpu_ranks.h"
#include "lmlab/train/cpu_threads.h"
#include "lmlab/train/distributed.h"
#include "lmlab/train/engine_state.h"
#include "lmlab/train/mfu.h"
#include "lmlab/train/model_state.h"
#include "lmlab/train/optimizer.h"
#include "lmlab/train/param_patterns.h"
#include "lmlab/train/schedule.h"

namespace lmlab::train {

std::vector<std::string> matching_parameters(const torch::nn::Module& module, const std::vector<std::string>& patterns,
                                             const std::string& key) {
  std::vector<std::string> names;
  for (const auto& item : module.named_parameters()) names.push_back(item.key());
  return parameters_matching(names, patterns, key);
}

std::vector<std::string> frozen_parameters(Task& task, const TrainConfig& tc) {
  std::vector<std::string> patterns = tc.freeze;
  for (const auto& p : task.frozen_patterns()) patterns.push_back(p);
  auto frozen = matching_parameters(task.module(), patterns, "train.freeze");
  if (tc.train_only.empty()) return frozen;
  const auto trained = matching_parameters(task.module(), tc.train_only, "train.train_only");
  for (const auto& item : task.module().named_parameters()) {
    const auto& n = item.key();
    if (std::find(trained.begin(), trained.end(), n) == trained.end() &&
        std::find(frozen.begin(), frozen.end(), n) == frozen.end())
      frozen.push_back(n);
  }
  return frozen;
}

namespace {

// One run of the loop: the state every step shares, and the StepEnv a task's step sees.
class Engine : public StepEnv {
 public:
  // `threads`: the thread plan's line (cpu_threads.h), printed once the run is set up.
  Engine(Task& task, Experiment& exp, bool resume, Distributed& dist, TaskEnv& env, std::string threads)
      : task_(task), exp_(exp), tc_(exp.train), dist_(dist), env_(env), resume_(resume), threads_(std::move(threads)) {}

  TrainResult run();

  // StepEnv.
  data::NamedBatch next_batch() override {
    data::NamedBatch b = task_.train_source().next();
    step_units_ += task_.units_per_batch(b) * dist_.world_size();
    return b.to(env_.device);
  }
  int64_t grad_accum() const override { return tc_.grad_accum; }
  void backward(const LossOutput& out) override;
  void update() override;
  double lr() const override { return lr_; }
  int64_t step() const override { return step_; }

 private:
  void build_optimizer();
  void restore_checkpoint();
  void save(int64_t at_step);
  void evaluate();
  void log_step(double minutes);
  void average_extras_over_ranks();
  bool past_time_budget(double minutes);
  int64_t resolve_steps();

  Task& task_;
  Experiment& exp_;
  const TrainConfig& tc_;
  Distributed& dist_;
  TaskEnv& env_;
  bool resume_;
  std::string threads_, config_toml_;
  std::unique_ptr<AdamW> opt_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<runlog::MetricsLogger> metrics_;
  std::unique_ptr<Progress> progress_;
  TrainResult result_;
  int64_t step_ = 0, units_ = 0, step_units_ = 0, interval_units_ = 0, steps_per_epoch_ = 0;
  double lr_ = 0, peak_flops_ = 0;  // peak_flops_: MFU's per device (mfu.h)
  // What the last update() measured, and the sums backward() gathers until the next one.
  double loss_value_ = 0, grad_norm_ = 0;
  torch::Tensor report_sum_;
  int64_t reports_ = 0, extra_count_ = 0;
  std::map<std::string, torch::Tensor> extra_sums_;
  std::chrono::steady_clock::time_point interval_start_;
};

void Engine::build_optimizer() {
  torch::nn::Module& module = task_.module();
  const std::vector<std::string> frozen = frozen_parameters(task_, tc_);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  std::vector<torch::Tensor> all;
  for (const auto& item : module.named_parameters()) {
    all.push_back(item.value());
    if (std::find(frozen.begin(), frozen.end(), item.key()) != frozen.end())
      item.value().set_requires_grad(false);
    else
      named.emplace_back(item.key(), item.value());
  }
  if (named.empty()) throw UserError("train.freeze: every parameter is frozen; nothing would train");
  opt_ = std::make_unique<AdamW>(named, tc_);
  trainable_ = opt_->params();
  dist_.broadcast(all);  // identical weights on every rank (same seed, then rank 0's), frozen ones too
  if (env_.main && !frozen.empty())
    std::cerr << "frozen: " << frozen.size() << " parameter tensors; training " << named.size() << "\n";
}

void Engine::restore_checkpoint() {
  const std::string run_dir = exp_.run.out_dir;
  if (!resume_) {
    if (!latest_checkpoint(run_dir).empty())
      throw_user_error(run_dir, "already holds a run's checkpoints; pass --resume to continue it or choose another run.out_dir");
    return;
  }
  std::string ckpt = latest_checkpoint(run_dir);
  if (ckpt.empty()) throw_user_error(run_dir, "--resume: the run directory has no checkpoint");
  CheckpointData d = read_checkpoint(ckpt);
  load_model_state(task_.module(), d.model, ckpt + "/model.safetensors");
  opt_->load(d.optimizer, ckpt + "/optimizer.safetensors");
  reading_json(ckpt + "/trainer.json", [&] {  // a hand-edited trainer.json names itself
    task_.train_source().restore(d.trainer.at("loader"));
    step_ = d.trainer.at("step").get<int64_t>();
    units_ = d.trainer.at(task_.unit()).get<int64_t>();
  });
  restore_rng_states(d.optimizer, env_.device);
  if (env_.main) std::cerr << "resuming from " << ckpt << " (step " << step_ << ")\n";
}

void Engine::save(int64_t at_step) {
  CheckpointData d{config_toml_, model_state(task_.module()), opt_->state(),
                   {{"step", at_step}, {task_.unit(), units_}, {"loader", task_.train_source().state()},
                    {"world_size", dist_.world_size()}, {"task", exp_.run.task}},
                   task_.tokenizer_path()};
  append_rng_states(d.optimizer, env_.device);
  for (auto& [name, t] : d.model) t = t.cpu();
  for (auto& [name, t] : d.optimizer) t = t.cpu();
  result_.checkpoint = write_checkpoint(exp_.run.out_dir, at_step, d, tc_.keep_checkpoints);
}

void Engine::backward(const LossOutput& out) {
  (out.loss / static_cast<double>(tc_.grad_accum)).backward();
  torch::Tensor r = (out.report.defined() ? out.report : out.loss).detach();
  report_sum_ = report_sum_.defined() ? report_sum_ + r : r;
  ++reports_;
  for (const auto& [name, t] : out.extras) {
    auto& sum = extra_sums_[name];
    sum = sum.defined() ? sum + t.detach() : t.detach();
  }
  ++extra_count_;
}

void Engine::update() {
  if (reports_ == 0) throw std::logic_error("task step called update() without a backward()");
  dist_.average_gradients(trainable_);
  loss_value_ = dist_.mean(report_sum_ / static_cast<double>(reports_)).item<double>();
  grad_norm_ = global_grad_norm(trainable_);
  report_sum_ = torch::Tensor();
  reports_ = 0;
  if (!std::isfinite(loss_value_) || !std::isfinite(grad_norm_)) {
    // Nothing of this step has been applied: the weights are the last good state.
    std::string where;
    if (env_.main) {
      save(step_);
      where = "; the last good state (after step " + std::to_string(step_) + ") is in " + result_.checkpoint;
    }
    throw UserError("training diverged at step " + std::to_string(step_ + 1) + ": loss " + std::to_string(loss_value_) +
                    ", gradient norm " + std::to_string(grad_norm_) + where +
                    " (lower train.lr, raise train.warmup_steps or check the data)");
  }
  opt_->step(lr_, clip_scale(grad_norm_, tc_.grad_clip));  // clipping folded into the update
  opt_->zero_grad();
}

void Engine::evaluate() {
  task_.module().eval();
  nlohmann::json m = task_.evaluate(env_);
  task_.module().train();
  result_.metrics = m;
  if (m.contains(result_.primary_metric)) result_.val_loss = m[result_.primary_metric].get<double>();
  if (env_.main) {
    nlohmann::json record = m;
    record[task_.unit()] = units_;
    metrics_->log(step_, record);
    std::string line;
    for (const auto& [k, v] : m.items())
      if (v.is_number()) line += (line.empty() ? "" : ", ") + k + " " + v.dump();
    std::cerr << "step " << step_ << ": " << line << "\n";
  }
  task_.on_eval(env_, step_, units_, m);
}

// The extras (aux_loss, ce, ...) are per-rank means like the loss, so the logged value is their
// mean over ranks as "loss" is: one all-reduce of the stacked scalars, only on logging steps.
void Engine::average_extras_over_ranks() {
  if (dist_.world_size() == 1 || extra_sums_.empty()) return;
  std::vector<torch::Tensor> values;
  for (const auto& [name, sum] : extra_sums_) values.push_back(sum.to(torch::kFloat64).reshape({}));
  std::vector<torch::Tensor> stacked = {torch::stack(values)};
  dist_.all_reduce_sum(stacked);
  stacked[0].div_(static_cast<double>(dist_.world_size()));
  int64_t i = 0;
  for (auto& [name, sum] : extra_sums_) sum = stacked[0][i++];
}

// train.max_minutes: every rank stops after the same step (one that went on would wait in its
// next collective for the others), the first whose clock runs out deciding for all.
bool Engine::past_time_budget(double minutes) {
  if (tc_.max_minutes <= 0) return false;
  const bool mine = minutes >= tc_.max_minutes;
  if (dist_.world_size() == 1) return mine;
  std::vector<torch::Tensor> flag = {torch::full({1}, mine ? 1.0 : 0.0, torch::TensorOptions(env_.device))};
  dist_.all_reduce_sum(flag);
  return flag[0].item<double>() > 0;
}

void Engine::log_step(double minutes) {
  auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - interval_start_).count();
  const double units_per_s = seconds > 0 ? static_cast<double>(interval_units_) / seconds : 0.0;
  const double mfu = model_flops_utilisation(task_.train_flops_per_unit(), units_per_s, peak_flops_, dist_.world_size());
  const std::string unit = task_.unit();
  nlohmann::json record = {{unit, units_}, {"loss", loss_value_}, {"lr", lr_}, {"grad_norm", grad_norm_},
                           {unit + "_per_s", units_per_s}, {"mfu", mfu}};
  if (tc_.epochs > 0) record["epoch"] = static_cast<double>(step_) / static_cast<double>(steps_per_epoch_);
  for (const auto& [name, sum] : extra_sums_)
    record[name] = sum.item<double>() / static_cast<double>(extra_count_);
  const nlohmann::json extras = task_.log_extras();
  for (const auto& [k, v] : extras.items()) record[k] = v;
  metrics_->log(step_, record);
  char status[160];
  std::snprintf(status, sizeof status, "loss %.4f | lr %.2e | %s | mfu %.1f%%", loss_value_, lr_,
                Progress::format_rate(units_per_s, unit == "tokens" ? "tok" : "sample").c_str(), 100 * mfu);
  std::string line = status;
  if (tc_.max_minutes > 0)
    line += " | " + Progress::format_duration(std::max(0.0, (tc_.max_minutes - minutes) * 60)) + " left";
  progress_->update(step_, line);
  interval_start_ = now;
  interval_units_ = 0;
}

// train.epochs > 0: as many steps as the epochs hold (the last partial step of an epoch is
// dropped by the source); written back so config.toml and the schedule see it.
int64_t Engine::resolve_steps() {
  steps_per_epoch_ = std::max<int64_t>(1, task_.train_source().batches_per_epoch() / tc_.grad_accum);
  if (tc_.epochs > 0) exp_.train.steps = tc_.epochs * steps_per_epoch_;
  if (tc_.steps < 1) throw UserError("train.steps must be >= 1");
  return tc_.steps;
}

TrainResult Engine::run() {
  const std::string run_dir = exp_.run.out_dir;
  result_.run_dir = run_dir;
  result_.primary_metric = task_.primary_metric();
  if (!tc_.init_from.empty() && !resume_) init_from_checkpoint(task_.module(), tc_.init_from, env_.main);
  task_.module().to(env_.device);
  task_.module().train();
  build_optimizer();
  const int64_t steps = resolve_steps();
  config_toml_ = config::to_toml(config::Schema::of(exp_));
  restore_checkpoint();
  if (env_.main) {
    make_dirs(run_dir);
    for (const std::string& sub : {run_dir, run_dir + "/checkpoints"})
      for (const std::string& name : remove_stale_staging(sub))
        std::cerr << "removed " << sub << "/" << name << ", left by a run that was killed while writing it\n";
    write_file_atomic(run_dir + "/config.toml", config_toml_);
    metrics_ = std::make_unique<runlog::MetricsLogger>(run_dir, resume_ ? step_ : -1);
    // A time budget usually ends the run before `steps` (the quickstart), so then the line
    // shows the time left instead of a step ETA that would be wrong.
    progress_ = std::make_unique<Progress>("train", tc_.max_minutes > 0 ? -1 : steps, "step");
    // After everything that can refuse the run, so a refusal stays one line.
    std::cerr << threads_ << "\n";
    std::string source;
    peak_flops_ = mfu_peak_flops(env_.device.is_cuda(), tc_.peak_tflops, TrainConfig{}.peak_tflops, &source);
    std::cerr << "mfu peak: " << Progress::format_rate(peak_flops_, "FLOP") << " per device (" << source << ")\n";
  }
  env_.start_step = step_;
  task_.on_start(env_);
  // Tests: die like kill -9 after step N ("N"), or only on rank R ("N@R").
  const char* kill_env = std::getenv("LMLAB_TEST_KILL_AFTER_STEP");
  const char* kill_rank = kill_env ? std::strchr(kill_env, '@') : nullptr;
  const bool kill_here = kill_env && (!kill_rank || std::atoll(kill_rank + 1) == dist_.rank());
  const int64_t kill_after = kill_here ? std::atoll(kill_env) : -1;

  const auto start = std::chrono::steady_clock::now();
  interval_start_ = start;
  while (step_ < steps) {
    lr_ = learning_rate(tc_, step_);
    opt_->zero_grad();
    extra_sums_.clear();
    extra_count_ = 0;
    step_units_ = 0;
    task_.train_step(*this);
    ++step_;
    units_ += step_units_;
    interval_units_ += step_units_;

    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    const bool out_of_time = past_time_budget(minutes);
    const bool last = step_ == steps || out_of_time;
    if (step_ % std::max<int64_t>(1, tc_.log_every) == 0 || last) {
      average_extras_over_ranks();  // a collective: every rank, before rank 0 logs
      if (env_.main) log_step(minutes);
    }
    const bool epoch_end = exp_.eval.per_epoch && step_ % steps_per_epoch_ == 0;
    if ((exp_.eval.every > 0 && step_ % exp_.eval.every == 0) || epoch_end || last) evaluate();
    if (env_.main && ((tc_.checkpoint_every > 0 && step_ % tc_.checkpoint_every == 0) || last)) save(step_);
    if (step_ == kill_after) std::raise(SIGKILL);
    if (out_of_time) break;
  }
  if (env_.main) {
    const std::string& name = result_.primary_metric;
    progress_->finish((name == "val_loss" ? std::string("val loss") : name) + " " + std::to_string(result_.val_loss));
  }
  task_.on_end(env_, step_);
  dist_.barrier();
  result_.steps = step_;
  return result_;
}

// What the ranks compare of their data before training: each file of data.dir with its size and,
// for the small metadata files, an FNV-1a hash of the content (the shards are too big to hash
// at every start; a different tokenization changes their size or meta.json).
std::string data_fingerprint(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return "";
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const uintmax_t size = entry.file_size(ec);
    std::string line = entry.path().string() + " = " + std::to_string(size);
    if (entry.path().extension() == ".json" && size < (1u << 20)) {
      uint64_t h = 1469598103934665603ull;
      for (unsigned char c : read_file(entry.path().string())) h = (h ^ c) * 1099511628211ull;
      line += " " + std::to_string(h);
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Checks that relate two keys (a key's own range is checked where it is read, config.h).
void check_cross_keys(const Experiment& exp) {
  const auto& m = exp.model;
  if ((m.family == "decoder" || m.family == "encoder") && exp.data.seq_len > m.max_seq_len)
    throw UserError("data.seq_len (" + std::to_string(exp.data.seq_len) + ") must be <= model.max_seq_len (" +
                    std::to_string(m.max_seq_len) + "): the model has positions for max_seq_len tokens");
  if (m.ffn.type == "mask_moe" && m.ffn.mask_visible > m.ffn.n_experts)
    throw UserError("model.ffn.mask_visible (" + std::to_string(m.ffn.mask_visible) +
                    ") must be <= model.ffn.n_experts (" + std::to_string(m.ffn.n_experts) + ")");
}

}  // namespace

TrainResult run_engine(Task& task, Experiment exp, bool resume) {
  const TrainConfig& tc = exp.train;
  check_cross_keys(exp);
  if (tc.batch_size < 1 || tc.grad_accum < 1) throw UserError("train.batch_size and grad_accum must be >= 1");
  if (tc.steps < 1 && tc.epochs < 1) throw UserError("train.steps (or train.epochs) must be >= 1");
  RankInfo ranks = rank_info_from_env();
  const torch::Device device = pick_device(exp.run.device, ranks.local_rank);
  Distributed dist(ranks, device, tc.dist_timeout_s);
  dist.check_same("config", config::to_toml(config::Schema::of(exp)));
  dist.check_same("data", data_fingerprint(exp.data.dir));
  if (tc.precision == "bf16" && !device.is_cuda())
    throw UserError("train.precision = \"bf16\" needs CUDA (bf16 autocast on the CPU is not supported); use \"auto\"");
  std::string threads = apply_threads(plan_threads(read_thread_env(), /*can_reexec=*/false));
  TaskEnv env(exp, device);
  env.rank = dist.rank();
  env.world_size = dist.world_size();
  const int64_t split = cpu_rank_split();
  if (tc.batch_size % split != 0) throw UserError("train.batch_size must be a multiple of LMLAB_CPU_RANKS");
  env.batch_per_rank = tc.batch_size / split;
  threads = with_cpu_ranks(threads, exp, split, device.is_cpu() && dist.world_size() == 1);
  env.main = dist.is_main();
  env.bf16 = device.is_cuda() && tc.precision != "fp32";
  env.resume = resume;
  env.run_dir = exp.run.out_dir;
  env.rank_mean = [&](const torch::Tensor& t) { return dist.mean(t); };
  env.all_reduce_sum = [&](std::vector<torch::Tensor>& t) { dist.all_reduce_sum(t); };
  task.setup(env);
  Engine engine(task, exp, resume, dist, env, std::move(threads));
  return engine.run();
}

}  // namespace lmlab::train
