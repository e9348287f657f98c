// lmlab eval: perplexity and zero-shot multiple-choice tasks on one or more checkpoints, as
// lm-evaluation-harness scores them (docs/eval.md), printed as a table and optionally written
// as JSON, a bar chart and a per-request samples file. Task "val" scores a prepared token split
// (the run's own validation data by default) with frequency-bucket perplexities.
#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/shards.h"
#include "lmlab/eval/causal_lm_scorer.h"
#include "lmlab/eval/frequency_buckets.h"
#include "lmlab/eval/multiple_choice.h"
#include "lmlab/eval/perplexity.h"
#include "lmlab/eval/report.h"
#include "lmlab/eval/shard_perplexity.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/device.h"

namespace lmlab::cli {

namespace {

struct EvalOptions {
  std::string checkpoints, tasks = "ppl,hellaswag,piqa,winogrande,arc_easy,arc_challenge,openbookqa,copa,boolq,lambada";
  std::string data_dir, output, plot, samples, ppl_file, val_data, device = "auto";
  std::vector<std::string> overrides;
  int64_t limit = 0, batch_size = 16, max_length = 0;
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

// The first `limit` lines of a text file (all of it when limit <= 0).
std::string read_text_lines(const std::string& path, int64_t limit) {
  std::string text = read_file(path);
  if (limit <= 0) return text;
  size_t pos = 0;
  for (int64_t i = 0; i < limit && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  return pos == std::string::npos ? text : text.substr(0, pos);
}

// Task "val": the token split DIR/val.bin (DIR = --val-data or the checkpoint's data.dir), its
// perplexity split into frequency buckets counted on DIR's training shard, and the means of the
// scalar statistics the FFN blocks report in eval mode: near_zero_share (dense, Finedeep) and
// active_share (DSMoE's share of experts above tau).
eval::TaskResult val_task(const EvalOptions& o, const train::InferenceModel& m, int64_t max_length,
                          const torch::Device& device) {
  const std::string dir = o.val_data.empty() ? m.exp.data.dir : o.val_data;
  nlohmann::json meta = data::read_data_meta(dir);
  data::TokenShard val(dir + "/" + meta["val"].value("file", "val.bin"));
  data::TokenShard train_split(dir + "/" + meta["train"].value("file", "train.bin"));
  std::vector<eval::FrequencyBucket> buckets =
      eval::assign_frequency_buckets(data::count_token_ids(train_split, m.exp.model.vocab_size));
  model::Transformer model = m.model;
  std::map<std::string, std::pair<double, int64_t>> stat_sums;  // name -> (sum, count) over layers and batches
  auto logits_of = [&](const torch::Tensor& x) {
    torch::Tensor logits = model->forward(x);
    const nlohmann::json stats = model->ffn_stats();
    for (const auto& [layer, s] : stats.items())
      for (const char* name : {"near_zero_share", "active_share"})
        if (s.contains(name)) stat_sums[name].first += s[name].get<double>(), ++stat_sums[name].second;
    return logits;
  };
  eval::ShardPerplexityOptions opt{max_length, o.batch_size, o.limit, device};
  eval::TaskResult r = eval::shard_perplexity(val, logits_of, opt, &buckets);
  for (const auto& [name, sum] : stat_sums) r.metrics[name] = sum.first / static_cast<double>(sum.second);
  return r;
}

void run_eval(const EvalOptions& o) {
  std::vector<std::string> checkpoints = split_commas(o.checkpoints), tasks = split_commas(o.tasks);
  if (checkpoints.empty()) throw UserError("--checkpoint: give at least one checkpoint or run directory");
  if (tasks.empty()) throw UserError("--tasks: give at least one task");
  if (!o.samples.empty() && checkpoints.size() > 1) throw UserError("--samples works with one checkpoint at a time");
  if (!o.data_dir.empty()) ::setenv("LMLAB_DATA", o.data_dir.c_str(), 1);
  std::vector<std::string> known = eval::task_names();
  known.push_back("ppl");
  known.push_back("val");
  for (const std::string& t : tasks)
    if (std::find(known.begin(), known.end(), t) == known.end())
      throw UserError("--tasks: unknown task '" + t + "'" + did_you_mean(t, known));

  // Task data and the perplexity text are read once and shared by every checkpoint.
  std::vector<eval::TaskData> task_data;
  std::string ppl_text, ppl_path;
  for (const std::string& t : tasks) {
    if (t == "val") continue;  // read per checkpoint: its own data.dir by default
    if (t == "ppl") {
      ppl_path = o.ppl_file.empty() ? data_path("lm/wikitext-2/test.txt") : o.ppl_file;
      ppl_text = read_text_lines(ppl_path, o.limit);
    } else {
      task_data.push_back(eval::load_task(t, data_path("eval"), o.limit));
    }
  }

  const torch::Device device = train::pick_device(o.device);
  std::string samples;
  std::vector<eval::CheckpointResults> runs;
  // Every task but "val" (already token ids) needs the checkpoint's tokenizer.
  const bool text_tasks = std::any_of(tasks.begin(), tasks.end(), [](const std::string& t) { return t != "val"; });
  for (const std::string& dir : checkpoints) {
    train::InferenceModel m = train::load_for_inference(dir, device, o.overrides);
    std::optional<tokenizer::Tokenizer> tok;
    uint32_t eot = 0;
    if (text_tasks) {
      tok = tokenizer::Tokenizer::load(m.tokenizer_path);
      if (std::optional<uint32_t> id = tok->special_id("<|endoftext|>"))
        eot = *id;
      else
        std::cerr << "lmlab: warning: " << m.tokenizer_path << " has no <|endoftext|>; using id 0 as the document start\n";
    }
    const int64_t max_length = o.max_length > 0 ? o.max_length
                                                : std::min(m.exp.data.seq_len, m.exp.model.max_seq_len);
    model::Transformer model = m.model;
    eval::CausalLmScorer scorer([model](const torch::Tensor& idx) mutable { return model->forward(idx); },
                                max_length, device, o.batch_size);
    auto encode = [&tok](std::string_view s) { return tok->encode(s); };
    eval::TokenizedScorer text_scorer(encode, eot, scorer);
    eval::CheckpointResults run{dir, m.step, max_length, {}};
    std::cerr << "eval: " << dir << " (step " << m.step << ", context " << max_length << ", " << device << ")\n";
    size_t next_task = 0;
    for (const std::string& t : tasks) {
      scorer.set_label(dir + " " + t);
      if (t == "ppl") {
        run.tasks.push_back(eval::text_perplexity(ppl_text, encode, eot, scorer));
        continue;
      }
      if (t == "val") {
        run.tasks.push_back(val_task(o, m, max_length, device));
        continue;
      }
      const eval::TaskData& data = task_data[next_task++];
      std::vector<eval::Loglikelihood> lls;
      eval::TaskResult r = eval::score_task(data, text_scorer, &lls);
      run.tasks.push_back(r);
      if (!o.samples.empty()) samples += eval::samples_jsonl(data, lls);
    }
    runs.push_back(std::move(run));
  }

  std::cout << eval::results_table(runs);
  if (!o.output.empty()) {
    nlohmann::json j = eval::results_json(runs);
    if (!ppl_path.empty()) j["ppl_file"] = ppl_path;
    j["limit"] = o.limit;
    write_file_atomic(o.output, j.dump(2) + "\n");
    std::cerr << "eval: wrote " << o.output << "\n";
  }
  if (!o.samples.empty()) write_file_atomic(o.samples, samples);
  if (!o.plot.empty() && eval::plot_results(runs, o.plot)) std::cerr << "eval: wrote " << o.plot << "\n";
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* sub = app.add_subcommand("eval", "Perplexity and zero-shot tasks on one or more checkpoints");
  sub->add_option("--checkpoint", o->checkpoints, "Checkpoint or run directories, comma-separated (compared in one table)")
      ->required();
  sub->add_option("--tasks", o->tasks, "Comma-separated: ppl,val," + [] {
    std::string s;
    for (const std::string& t : eval::task_names()) s += (s.empty() ? "" : ",") + t;
    return s;
  }());
  sub->add_option("--data", o->data_dir, "Shared data directory (default: $LMLAB_DATA or ../shared/data)");
  sub->add_option("--limit", o->limit,
                  "Score only the first N items of each task (ppl: the first N lines; val: the first N windows)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--output", o->output, "Write the results as JSON");
  sub->add_option("--plot", o->plot, "Write a bar chart of the accuracies (PNG, needs gnuplot)");
  sub->add_option("--samples", o->samples, "Write every scored request and its log-likelihood (JSON lines)");
  sub->add_option("--batch-size", o->batch_size, "Requests per forward pass")->check(CLI::PositiveNumber);
  sub->add_option("--ppl-file", o->ppl_file, "Text file for ppl (default: WikiText-2 test)");
  sub->add_option("--val-data", o->val_data,
                  "Token-shard directory for val (default: each checkpoint's data.dir); frequency buckets "
                  "are counted on its training shard");
  sub->add_option("--set", o->overrides,
                  "Override a key of the checkpoints' config before building the model, e.g. "
                  "model.ffn.disable_top1=true (repeatable)");
  sub->add_option("--max-length", o->max_length,
                  "Context length of the scorer (default: min(data.seq_len, model.max_seq_len) of the checkpoint)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--device", o->device, "auto, cpu or cuda")->check(CLI::IsMember(train::device_choices()));
  sub->callback([o] { run_eval(*o); });
}

}  // namespace lmlab::cli
