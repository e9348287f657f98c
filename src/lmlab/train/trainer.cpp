// The training loop (what one step does is described in trainer.h).
#include "lmlab/train/trainer.h"

#include <ATen/autocast_mode.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "lmlab/analysis/expert_heatmap.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "lmlab/config/config.h"
#include "lmlab/data/loader.h"
#include "lmlab/model/moe/mask_moe.h"
#include "lmlab/model/transformer.h"
#include "lmlab/runlog/metrics.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/distributed.h"
#include "lmlab/train/evaluate.h"
#include "lmlab/train/losses.h"
#include "lmlab/train/model_state.h"
#include "lmlab/train/optimizer.h"
#include "lmlab/train/schedule.h"

namespace lmlab::train {

namespace {

constexpr const char* kRngStateName = "rng_state.cpu";
constexpr const char* kCudaRngStateName = "rng_state.cuda";  // this rank's device

// bf16 autocast for the forward pass on CUDA (parameters and optimizer stay fp32).
class Autocast {
 public:
  explicit Autocast(bool on) : on_(on) {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
  }
  ~Autocast() {
    if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }

 private:
  bool on_;
};

torch::Device pick_device(const std::string& choice, int64_t local_rank) {
  bool cuda = choice == "cuda" || (choice == "auto" && torch::cuda::is_available());
  if (!cuda) return torch::kCPU;
  if (!torch::cuda::is_available()) throw UserError("run.device = \"cuda\" but no CUDA device is available");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % torch::cuda::device_count()));
}

// Fills model.vocab_size from the data when it is 0; checks it covers the data otherwise.
void resolve_vocab(Experiment& exp, const nlohmann::json& meta) {
  int64_t data_vocab = meta.at("vocab_size").get<int64_t>();
  if (exp.model.vocab_size == 0) exp.model.vocab_size = data_vocab;
  if (exp.model.vocab_size < data_vocab)
    throw UserError("model.vocab_size = " + std::to_string(exp.model.vocab_size) + " is smaller than the data's " +
                    std::to_string(data_vocab) + " (" + exp.data.dir + "/meta.json)");
}

// Rewrites position_loss.jsonl keeping only evals up to `step` (a resumed run redoes the rest).
void truncate_jsonl(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << "\n";
  out.flush();
  if (!out) throw std::runtime_error("cannot append to " + path);
}

}  // namespace

std::string describe_model(Experiment exp) {
  if (exp.model.vocab_size == 0) resolve_vocab(exp, data::read_data_meta(exp.data.dir));
  model::Transformer model(exp.model);
  std::ostringstream out;
  out << "total_params " << model->total_params() << "\n"
      << "active_params " << model->active_params() << "\n"
      << "train_flops_per_token " << model->train_flops_per_token(exp.data.seq_len) << "  (seq_len "
      << exp.data.seq_len << ")\n";
  return out.str();
}

// train.init_from: the matching weights of another run (a dense run for a DSMoE one), the rest as
// initialised. Lists what was not copied, since a typo in a config would otherwise go unnoticed.
void init_from_checkpoint(torch::nn::Module& model, const std::string& from, bool main) {
  const std::string ckpt = resolve_checkpoint(from);
  PartialLoad p = load_model_state_partial(model, read_checkpoint(ckpt).model, ckpt + "/model.safetensors");
  if (!main) return;
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 6; ++i) s += (i ? ", " : "") + names[i];
    return names.size() > 6 ? s + ", ..." : s;
  };
  std::cerr << "init_from " << ckpt << ": copied " << p.copied.size() << " tensors";
  if (!p.kept_init.empty()) std::cerr << "; " << p.kept_init.size() << " keep their init (" << list(p.kept_init) << ")";
  if (!p.unused.empty()) std::cerr << "; " << p.unused.size() << " unused (" << list(p.unused) << ")";
  std::cerr << "\n";
}

TrainResult run_training(Experiment exp, bool resume) {
  const TrainConfig& tc = exp.train;
  if (tc.steps < 1 || tc.batch_size < 1 || tc.grad_accum < 1) throw UserError("train.steps, batch_size and grad_accum must be >= 1");
  RankInfo ranks = rank_info_from_env();
  const torch::Device device = pick_device(exp.run.device, ranks.local_rank);
  Distributed dist(ranks, device, tc.dist_timeout_s);
  const bool main = dist.is_main();
  const std::string run_dir = exp.run.out_dir;

  // Data.
  nlohmann::json meta = data::read_data_meta(exp.data.dir);
  resolve_vocab(exp, meta);
  data::TokenShard train_shard(exp.data.dir + "/" + meta["train"].value("file", "train.bin"));
  data::TokenShard val_shard(exp.data.dir + "/" + meta["val"].value("file", "val.bin"));
  data::WindowLoader loader(train_shard, exp.data.seq_len, tc.batch_size, static_cast<uint64_t>(exp.run.seed),
                            dist.rank(), dist.world_size());
  // Checkpoints carry the data's tokenizer (when it has one) so generation needs nothing else.
  std::string tokenizer_path = exp.data.dir + "/" + meta.value("tokenizer", std::string("tokenizer.json"));
  if (!file_exists(tokenizer_path)) tokenizer_path.clear();

  // Model and optimizer (identical initial weights on every rank: same seed, then rank 0's).
  torch::manual_seed(static_cast<uint64_t>(exp.run.seed));
  model::Transformer model(exp.model);
  // MaskMoE splits frequent from infrequent tokens by their count in the training data.
  if (exp.model.ffn.type == "mask_moe")
    model::moe::set_token_frequencies(*model, torch::tensor(data::count_token_ids(train_shard, exp.model.vocab_size)));
  if (!tc.init_from.empty() && !resume) init_from_checkpoint(*model, tc.init_from, main);
  model->to(device);
  model->train();
  std::vector<std::pair<std::string, torch::Tensor>> named_params;
  for (const auto& item : model->named_parameters()) named_params.emplace_back(item.key(), item.value());
  AdamW opt(named_params, tc);
  std::vector<torch::Tensor> params = opt.params();
  dist.broadcast(params);
  const bool bf16 = device.is_cuda() && tc.precision != "fp32";
  if (tc.precision == "bf16" && !device.is_cuda())
    throw UserError("train.precision = \"bf16\" needs CUDA (bf16 autocast on the CPU is not supported); use \"auto\"");

  config::Schema schema = config::Schema::of(exp);
  const std::string config_toml = config::to_toml(schema);
  int64_t step = 0, tokens = 0;
  if (resume) {
    std::string ckpt = latest_checkpoint(run_dir);
    if (ckpt.empty()) throw_user_error(run_dir, "--resume: the run directory has no checkpoint");
    CheckpointData d = read_checkpoint(ckpt);
    load_model_state(*model, d.model, ckpt + "/model.safetensors");
    opt.load(d.optimizer, ckpt + "/optimizer.safetensors");
    loader.restore(d.trainer.at("loader"));
    for (const auto& [name, t] : d.optimizer)
      if (name == kRngStateName || (name == kCudaRngStateName && device.is_cuda())) {
        at::Generator gen = name == kRngStateName ? at::detail::getDefaultCPUGenerator()
                                                  : at::globalContext().defaultGenerator(device);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(t);
      }
    step = d.trainer.at("step").get<int64_t>();
    tokens = d.trainer.at("tokens").get<int64_t>();
    if (main) std::cerr << "resuming from " << ckpt << " (step " << step << ")\n";
  } else if (!latest_checkpoint(run_dir).empty()) {
    throw_user_error(run_dir, "already holds a run's checkpoints; pass --resume to continue it or choose another run.out_dir");
  }

  std::unique_ptr<runlog::MetricsLogger> metrics;
  const std::string position_path = run_dir + "/position_loss.jsonl";
  if (main) {
    make_dirs(run_dir);
    write_file_atomic(run_dir + "/config.toml", config_toml);
    metrics = std::make_unique<runlog::MetricsLogger>(run_dir, resume ? step : -1);
    if (resume)
      truncate_jsonl(position_path, step);
    else
      write_file_atomic(position_path, "");
  }

  const int64_t T = exp.data.seq_len;
  const int64_t tokens_per_step = tc.batch_size * tc.grad_accum * dist.world_size() * T;
  const double flops_per_token = model->train_flops_per_token(T);
  const double peak = tc.peak_tflops * 1e12 * static_cast<double>(dist.world_size());
  std::unique_ptr<Progress> progress;
  // A time budget usually ends the run before `steps` (the quickstart), so then the line shows
  // the time left instead of a step ETA that would be wrong.
  if (main) progress = std::make_unique<Progress>("train", tc.max_minutes > 0 ? -1 : tc.steps, "step");
  const char* kill_env = std::getenv("LMLAB_TEST_KILL_AFTER_STEP");  // tests: die like kill -9
  const int64_t kill_after = kill_env ? std::atoll(kill_env) : -1;

  TrainResult result;
  result.run_dir = run_dir;
  auto save = [&](int64_t at_step) {
    CheckpointData d{config_toml, model_state(*model), opt.state(),
                     {{"step", at_step}, {"tokens", tokens}, {"loader", loader.state()},
                      {"world_size", dist.world_size()}},
                     tokenizer_path};
    // Dropout draws from the CPU generator: its state makes a resumed run continue exactly.
    d.optimizer.emplace_back(kRngStateName, at::detail::getDefaultCPUGenerator().get_state());
    // On CUDA, dropout draws from the device's generator instead.
    if (device.is_cuda())
      d.optimizer.emplace_back(kCudaRngStateName, at::globalContext().defaultGenerator(device).get_state());
    for (auto& [name, t] : d.model) t = t.cpu();
    for (auto& [name, t] : d.optimizer) t = t.cpu();
    result.checkpoint = write_checkpoint(run_dir, at_step, d, tc.keep_checkpoints);
  };
  auto eval = [&] {
    model->eval();
    EvalResult r = evaluate_windows(
        val_shard, T, exp.eval.windows, dist.rank(), dist.world_size(), tc.batch_size, device,
        [&](const torch::Tensor& x) {
          Autocast ac(bf16);
          return model->forward(x);
        },
        [&](std::vector<torch::Tensor>& t) { dist.all_reduce_sum(t); });
    model->train();
    result.val_loss = r.loss;
    if (main) {
      metrics->log(step, {{"tokens", tokens}, {"val_loss", r.loss}});
      append_line(position_path, nlohmann::json({{"step", step}, {"tokens", tokens}, {"loss", r.loss},
                                                 {"position_loss", r.position_loss}}).dump());
      std::cerr << "step " << step << ": val loss " << r.loss << "\n";
    }
  };

  const RankMean rank_mean = [&](const torch::Tensor& t) { return dist.mean(t); };
  const auto start = std::chrono::steady_clock::now();
  auto interval_start = start;
  int64_t interval_tokens = 0;
  while (step < tc.steps) {
    const double lr = learning_rate(tc, step);
    opt.zero_grad();
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    torch::Tensor aux_sum;
    for (int64_t micro = 0; micro < tc.grad_accum; ++micro) {
      data::Batch batch = loader.next();
      torch::Tensor x = batch.x.to(device), y = batch.y.to(device);  // (B, T)
      torch::Tensor logits;
      {
        Autocast ac(bf16);
        logits = model->forward(x);  // (B, T, V)
      }
      torch::Tensor loss = lm_loss(tc.loss, logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                   y.reshape({-1}), rank_mean);
      torch::Tensor total = loss;
      torch::Tensor aux = model->aux_loss();
      if (aux.defined()) {
        total = total + aux;
        aux_sum = aux_sum.defined() ? aux_sum + aux.detach() : aux.detach();
      }
      (total / static_cast<double>(tc.grad_accum)).backward();
      loss_sum += loss.detach();
    }
    dist.average_gradients(params);
    const double loss_value = dist.mean(loss_sum / static_cast<double>(tc.grad_accum)).item<double>();
    const double grad_norm = clip_grad_norm(params, tc.grad_clip);
    if (!std::isfinite(loss_value) || !std::isfinite(grad_norm)) {
      // Nothing of this step has been applied: the weights are the last good state.
      std::string where;
      if (main) {
        save(step);
        where = "; the last good state (after step " + std::to_string(step) + ") is in " + result.checkpoint;
      }
      throw UserError("training diverged at step " + std::to_string(step + 1) + ": loss " + std::to_string(loss_value) +
                      ", gradient norm " + std::to_string(grad_norm) + where +
                      " (lower train.lr, raise train.warmup_steps or check the data)");
    }
    opt.step(lr);
    ++step;
    tokens += tokens_per_step;
    interval_tokens += tokens_per_step;

    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    const bool out_of_time = tc.max_minutes > 0 && minutes >= tc.max_minutes;
    const bool last = step == tc.steps || out_of_time;
    if (main && (step % std::max<int64_t>(1, tc.log_every) == 0 || last)) {
      auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - interval_start).count();
      const double tokens_per_s = seconds > 0 ? static_cast<double>(interval_tokens) / seconds * 1.0 : 0.0;
      const double mfu = peak > 0 ? flops_per_token * tokens_per_s / peak : 0.0;
      nlohmann::json record = {{"tokens", tokens},   {"loss", loss_value},           {"lr", lr},
                               {"grad_norm", grad_norm}, {"tokens_per_s", tokens_per_s}, {"mfu", mfu}};
      if (aux_sum.defined()) record["aux_loss"] = aux_sum.item<double>() / static_cast<double>(tc.grad_accum);
      nlohmann::json stats = model->ffn_stats();
      if (!stats.empty()) record["ffn"] = stats;
      metrics->log(step, record);
      char status[160];
      std::snprintf(status, sizeof status, "loss %.4f | lr %.2e | %s | mfu %.1f%%", loss_value, lr,
                    Progress::format_rate(tokens_per_s, "tok").c_str(), 100 * mfu);
      std::string line = status;
      if (tc.max_minutes > 0)
        line += " | " + Progress::format_duration(std::max(0.0, (tc.max_minutes - minutes) * 60)) + " left";
      progress->update(step, line);
      interval_start = now;
      interval_tokens = 0;
    }
    if ((exp.eval.every > 0 && step % exp.eval.every == 0) || last) eval();
    if (main && ((tc.checkpoint_every > 0 && step % tc.checkpoint_every == 0) || last)) save(step);
    if (step == kill_after) std::raise(SIGKILL);
    if (out_of_time) break;
  }
  if (main) progress->finish("val loss " + std::to_string(result.val_loss));
  // MoE runs: per-layer expert load of the last forward (the final validation pass) as a heatmap.
  nlohmann::json stats = model->ffn_stats();
  if (main && !stats.empty()) {
    analysis::ExpertLoad load = analysis::expert_load_from_stats(stats);
    if (!load.layers.empty()) {
      make_dirs(run_dir + "/plots");
      analysis::write_expert_heatmap(load, run_dir + "/plots/expert_load.png",
                                     "expert load, validation at step " + std::to_string(step));
    }
  }
  dist.barrier();
  result.steps = step;
  return result;
}

}  // namespace lmlab::train
