// lmlab quickstart [--data DIR] [--minutes M] [--output DIR]: the whole pipeline in one command.
// Trains a 2048-token BPE on a TinyStories slice, prepares token shards, trains the
// configs/quickstart.toml model on the CPU for M minutes, then prints the validation loss, a few
// samples and where the run, its metrics and the loss-curve plot are.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/common/plot.h"
#include "lmlab/config/config.h"
#include "lmlab/data/prepare.h"
#include "lmlab/eval/generate.h"
#include "lmlab/runlog/results_table.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/cpu_ranks.h"
#include "lmlab/train/cpu_threads.h"
#include "lmlab/train/trainer.h"

namespace lmlab::cli {

namespace {

struct QuickstartOptions {
  std::string data_dir;
  double minutes = 3.0;
  std::string out_dir = "runs/quickstart";
  bool force = false;
};

// The experiment of configs/quickstart.toml (kept in code so the command needs no source tree).
Experiment quickstart_experiment(const std::string& out, double minutes) {
  Experiment e;
  e.run.out_dir = out + "/run";
  e.run.device = "cpu";
  e.data.dir = out + "/data";
  e.data.seq_len = 128;
  e.model.arch = "llama";
  e.model.n_layer = 4;
  e.model.n_head = 4;
  e.model.d_model = 128;
  e.model.max_seq_len = 128;
  e.train.steps = 100000;  // the time limit ends the run
  e.train.max_minutes = minutes;
  e.train.lr = 3e-3;
  e.train.warmup_steps = 50;
  e.train.schedule = "constant";
  e.train.batch_size = 16;
  e.train.log_every = 20;
  e.train.checkpoint_every = 200;
  e.eval.every = 100;
  e.eval.windows = 32;
  return e;
}

// Loss curve PNG through gnuplot; a missing gnuplot is a warning, never a failure.
std::string plot_losses(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line, train_rows, val_rows;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) train_rows += std::to_string(j["step"].get<int64_t>()) + " " + j["loss"].dump() + "\n";
    if (j.contains("val_loss")) val_rows += std::to_string(j["step"].get<int64_t>()) + " " + j["val_loss"].dump() + "\n";
  }
  make_dirs(run_dir + "/plots");
  const std::string png = run_dir + "/plots/loss.png";
  if (val_rows.empty()) val_rows = "0 0\n";
  // The rows also stay beside the plot, for replotting without the run.
  write_file_atomic(run_dir + "/plots/train_loss.dat", train_rows);
  write_file_atomic(run_dir + "/plots/val_loss.dat", val_rows);
  Plot plot;
  plot.data = {{"train", train_rows}, {"val", val_rows}};
  plot.commands = "set xlabel 'step'\nset ylabel 'loss (nats/token)'\nset grid\n"
                  "plot $train with lines title 'train', $val with linespoints title 'validation'\n";
  return render_png_or_warn(plot, png) ? png : "";
}

// Step 3 on CPU ranks (cpu_ranks.h): `lmlab train` on the experiment, written beside the run as
// quickstart.toml, and the result read back from the run directory.
train::TrainResult train_on_ranks(Experiment exp, const train::CpuRankPlan& plan, const std::string& out_dir) {
  const std::string toml = out_dir + "/quickstart.toml";
  write_file_atomic(toml, config::to_toml(config::Schema::of(exp)));
  const std::vector<std::string> self = train::own_arguments();
  const int status = train::run_cpu_ranks(plan, {self.empty() ? "lmlab" : self[0], "train", "--config", toml});
  if (status != 0) train::exit_as(status);  // rank 0 said why
  train::TrainResult r;
  r.run_dir = exp.run.out_dir;
  r.checkpoint = train::latest_checkpoint(r.run_dir);
  // The final evaluation is the run's last record: its val_loss and step.
  const std::string metrics = "@" + r.run_dir + "/metrics.jsonl:";
  r.val_loss = runlog::resolve_metric("v=" + metrics + "val_loss").second.get<double>();
  r.steps = runlog::resolve_metric("s=" + metrics + "step").second.get<int64_t>();
  return r;
}

void run_quickstart(const QuickstartOptions& o) {
  // Where it trains in this process (one core, or a batch that does not split): restart once
  // with the passive OpenMP wait policy so that both cores train (cpu_threads.h), before
  // anything is printed or written.
  train::reexec_for_threads();
  if (!o.data_dir.empty()) ::setenv("LMLAB_DATA", o.data_dir.c_str(), 1);
  std::cout << version_text();
  const std::string stories = data_path("lm/tinystories/tinystories_train_slice_lowercased.txt");
  // What it writes: tokenizer.json, data/, quickstart.toml and run/ (the last replaced on every run).
  check_output_dir({{"--output", o.out_dir}, {{"--data", data_root()}}, {"tokenizer.json", "data", "run", "quickstart.toml"}, o.force});
  make_dirs(o.out_dir);

  // 1. Tokenizer: byte-level BPE, 2048 ids, on the first 1 MB of stories (seconds).
  const std::string tok_path = o.out_dir + "/tokenizer.json";
  std::cout << "[1/4] training a 2048-token BPE tokenizer on " << stories << "\n";
  std::string text = read_file(stories);
  tokenizer::TrainOptions topts;
  topts.vocab_size = 2048;
  tokenizer::TrainResult tr = tokenizer::train({text.substr(0, text.find('\n', 1 << 20))}, topts);
  write_file_atomic(tok_path, tokenizer::to_tokenizer_json(tr.model));

  // 2. Token shards: one story per line, the last 5% for validation.
  std::cout << "[2/4] tokenizing the stories into " << o.out_dir << "/data\n";
  data::PrepareOptions popts;
  popts.tokenizer = tok_path;
  popts.inputs = {stories};
  popts.output = o.out_dir + "/data";
  popts.doc_split = "line";
  nlohmann::json meta = data::prepare_data(popts);
  std::cout << "      " << meta["train"]["tokens"] << " training tokens, " << meta["val"]["tokens"] << " validation tokens\n";

  // 3. Train for the time budget (a previous quickstart run in this directory is replaced).
  Experiment exp = quickstart_experiment(o.out_dir, o.minutes);
  std::filesystem::remove_all(exp.run.out_dir);
  std::cout << "[3/4] training a " << exp.model.n_layer << "-layer, d=" << exp.model.d_model << " model on the CPU for "
            << o.minutes << " min\n" << train::describe_model(exp);
  // On several cores one process per core, as `lmlab train` does (cpu_ranks.h).
  const train::CpuRankPlan ranks = train::plan_cpu_ranks(exp, train::read_thread_env(), train::under_rank_launcher());
  train::TrainResult r = ranks.ranks > 1 ? train_on_ranks(exp, ranks, o.out_dir) : train::run_training(exp, false);
  std::cout << "      validation loss after " << r.steps << " steps: " << r.val_loss << " nats/token\n";

  // 4. Samples.
  std::cout << "[4/4] samples (temperature 0.8, top-k 50):\n";
  train::InferenceModel m = train::load_for_inference(r.run_dir, torch::kCPU);
  tokenizer::Tokenizer tok = train::load_tokenizer(m);
  const uint32_t eot = *tok.special_id("<|endoftext|>");
  torch::Generator gen = eval::make_generator(1);
  for (const char* prompt : {"once upon a time", "the little dog", "one day, lily"}) {
    std::vector<uint32_t> ids = tok.encode(prompt);
    std::vector<int64_t> p(ids.begin(), ids.end());
    eval::GenerateOptions g;
    g.max_new_tokens = 60;
    g.sampling = {0.8, 50, 1.0, tok.vocab_size()};
    g.stop_token = eot;
    torch::Tensor out = eval::generate(*m.model, torch::tensor(p).unsqueeze(0), g, gen);
    std::vector<uint32_t> gen_ids;
    for (int64_t i = 0; i < out.size(1); ++i) {
      auto id = static_cast<uint32_t>(out[0][i].item<int64_t>());
      if (id == eot) break;
      gen_ids.push_back(id);
    }
    std::cout << "  > " << tok.decode(gen_ids) << "\n";
  }
  std::string png = plot_losses(r.run_dir);
  std::cout << "\noutputs:\n  tokenizer   " << tok_path << "\n  data        " << popts.output << "\n  run         "
            << r.run_dir << " (metrics.jsonl, position_loss.jsonl, tb/ for TensorBoard)\n  checkpoint  "
            << r.checkpoint << "\n";
  if (!png.empty()) std::cout << "  loss plot   " << png << "\n";
  std::cout << "next: lmlab generate --checkpoint " << r.run_dir << " --prompt \"once upon a time\"\n";
}

}  // namespace

void add_quickstart_command(CLI::App& app) {
  auto opts = std::make_shared<QuickstartOptions>();
  auto* sub = app.add_subcommand("quickstart", "Train a tokenizer and a small model on TinyStories, end to end");
  sub->add_option("--data", opts->data_dir, "Shared data directory (default: $LMLAB_DATA or ../shared/data)");
  sub->add_option("--minutes", opts->minutes, "Training budget in minutes")->check(CLI::PositiveNumber);
  sub->add_option("--output", opts->out_dir, "Output directory (tokenizer, data, run)");
  sub->add_flag("--force", opts->force, "Write into --output even when it holds files that are not a quickstart's");
  sub->callback([opts] { run_quickstart(*opts); });
}

}  // namespace lmlab::cli
