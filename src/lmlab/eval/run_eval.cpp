// Every task on every checkpoint (see run_eval.h).
#include "lmlab/eval/run_eval.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/shards.h"
#include "lmlab/eval/causal_lm_scorer.h"
#include "lmlab/eval/frequency_buckets.h"
#include "lmlab/eval/multiple_choice.h"
#include "lmlab/eval/perplexity.h"
#include "lmlab/eval/shard_perplexity.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/device.h"
#include "lmlab/train/task_eval.h"

namespace lmlab::eval {

namespace {

void check_options(const EvalRunOptions& o) {
  if (o.checkpoints.empty()) throw UserError("--checkpoint: give at least one checkpoint or run directory");
  if (o.tasks.empty()) throw UserError("--tasks: give at least one task");
  if (o.samples && o.checkpoints.size() > 1) throw UserError("--samples works with one checkpoint at a time");
  std::vector<std::string> known = task_names();
  known.push_back("ppl");
  known.push_back("val");
  known.push_back("own");
  for (const std::string& t : o.tasks)
    if (std::find(known.begin(), known.end(), t) == known.end())
      throw UserError("--tasks: unknown task '" + t + "'" + did_you_mean(t, known));
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

// Task data and the perplexity text, read once and shared by every checkpoint ("val" is read per
// checkpoint: its own data.dir by default).
struct SharedInputs {
  std::vector<TaskData> tasks;  // the multiple-choice tasks, in the order asked
  std::string ppl_text, ppl_path;
};

SharedInputs read_shared_inputs(const EvalRunOptions& o) {
  SharedInputs in;
  for (const std::string& t : o.tasks) {
    if (t == "val" || t == "own") continue;
    if (t == "ppl") {
      in.ppl_path = o.ppl_file.empty() ? data_path("lm/wikitext-2/test.txt") : o.ppl_file;
      in.ppl_text = read_text_lines(in.ppl_path, o.limit);
    } else {
      in.tasks.push_back(load_task(t, data_path("eval"), o.limit));
    }
  }
  return in;
}

// Task "val": the token split DIR/val.bin (DIR = val_data or the checkpoint's data.dir), its
// perplexity split into frequency buckets counted on DIR's training shard, and the means of the
// scalar statistics the FFN blocks report in eval mode: near_zero_share (dense, Finedeep) and
// active_share (DSMoE's share of experts above tau).
TaskResult val_task(const EvalRunOptions& o, const train::InferenceModel& m, int64_t max_length,
                    const torch::Device& device) {
  const std::string dir = o.val_data.empty() ? m.exp.data.dir : o.val_data;
  nlohmann::json meta = data::read_data_meta(dir);
  const std::string meta_path = dir + "/meta.json";
  const int64_t data_vocab = meta.at("vocab_size").get<int64_t>();
  if (data_vocab > m.exp.model.vocab_size)  // another tokenizer's ids: a perplexity of nothing
    throw_user_error(meta_path, "the data's vocab_size " + std::to_string(data_vocab) + " is larger than the model's " +
                                    std::to_string(m.exp.model.vocab_size) + " (" + m.checkpoint +
                                    "/config.toml); prepare it with the checkpoint's tokenizer");
  data::TokenShard val(dir + "/" + meta["val"].value("file", "val.bin"));
  data::TokenShard train_split(dir + "/" + meta["train"].value("file", "train.bin"));
  data::check_token_ids(val, data_vocab, meta_path);
  data::check_token_ids(train_split, data_vocab, meta_path);
  std::vector<FrequencyBucket> buckets =
      assign_frequency_buckets(data::count_token_ids(train_split, m.exp.model.vocab_size));
  model::Transformer model = m.model;
  std::map<std::string, std::pair<double, int64_t>> stat_sums;  // name -> (sum, count) over layers and batches
  auto logits_of = [&](const torch::Tensor& x) {
    torch::Tensor logits = model->forward(x);
    const nlohmann::json stats = model->ffn_stats();
    for (const auto& [layer, s] : stats.items())
      for (const char* name : {"near_zero_share", "active_share", "experts_per_token"})
        if (s.contains(name)) stat_sums[name].first += s[name].get<double>(), ++stat_sums[name].second;
    return logits;
  };
  ShardPerplexityOptions opt{max_length, o.batch_size, o.limit, device};
  TaskResult r = shard_perplexity(val, logits_of, opt, &buckets);
  for (const auto& [name, sum] : stat_sums) r.metrics[name] = sum.first / static_cast<double>(sum.second);
  return r;
}

// The checkpoint's tokenizer and its document-start id (<|endoftext|>, else 0 with a warning).
std::pair<tokenizer::Tokenizer, uint32_t> tokenizer_and_doc_start(const train::InferenceModel& m) {
  tokenizer::Tokenizer tok = train::load_tokenizer(m);
  std::optional<uint32_t> eot = tok.special_id("<|endoftext|>");
  if (!eot) std::cerr << "lmlab: warning: " << m.tokenizer_path << " has no <|endoftext|>; using id 0 as the document start\n";
  return {std::move(tok), eot.value_or(0)};
}

// Task "own": the top-level numbers the task reports, then each file's as "<file>/<metric>".
TaskResult own_task(const std::string& dir, const EvalRunOptions& o, const torch::Device& device, int64_t& step) {
  train::TaskEvaluation e = train::evaluate_task_checkpoint(dir, device, o.overrides, o.eval_files);
  step = e.step;
  TaskResult r{"own (" + e.task + ")", 0, {}, ""};
  for (const auto& [k, v] : e.metrics.items())
    if (v.is_number()) r.metrics[k] = v.get<double>();
  const nlohmann::json files = e.metrics.value("files", nlohmann::json::object());
  for (const auto& [file, m] : files.items()) {
    r.n += m.value("records", int64_t{0});
    for (const auto& [k, v] : m.items())
      if (v.is_number() && k != "records") r.metrics[file + "/" + k] = v.get<double>();
  }
  return r;
}

CheckpointResults eval_checkpoint(const std::string& dir, const EvalRunOptions& o, const SharedInputs& in,
                                  const torch::Device& device, std::string& samples) {
  const std::string trained_as = train::checkpoint_task(dir);
  const bool decoder = trained_as == "lm" || trained_as == "sft";  // scores text: the zero-shot tasks apply
  if (!decoder || (o.tasks.size() == 1 && o.tasks[0] == "own")) {
    if (!decoder && !o.default_tasks)
      for (const std::string& t : o.tasks)
        if (t != "own")
          throw_user_error(dir, "is a checkpoint of task '" + trained_as + "': only --tasks own evaluates it, not '" + t + "'");
    CheckpointResults run{dir, 0, 0, {}};
    run.tasks.push_back(own_task(dir, o, device, run.step));
    return run;
  }
  train::InferenceModel m = train::load_for_inference(dir, device, o.overrides);
  // Every task but "val" (already token ids) needs the checkpoint's tokenizer.
  const bool text_tasks =
      std::any_of(o.tasks.begin(), o.tasks.end(), [](const std::string& t) { return t != "val" && t != "own"; });
  std::optional<std::pair<tokenizer::Tokenizer, uint32_t>> tok;
  if (text_tasks) tok = tokenizer_and_doc_start(m);
  const uint32_t eot = tok ? tok->second : 0;
  const int64_t max_length = o.max_length > 0 ? o.max_length : std::min(m.exp.data.seq_len, m.exp.model.max_seq_len);
  model::Transformer model = m.model;
  CausalLmScorer scorer([model](const torch::Tensor& idx) mutable { return model->forward(idx); }, max_length,
                        device, o.batch_size);
  auto encode = [&tok](std::string_view s) { return tok->first.encode(s); };
  TokenizedScorer text_scorer(encode, eot, scorer);
  CheckpointResults run{dir, m.step, max_length, {}};
  std::cerr << "eval: " << dir << " (step " << m.step << ", context " << max_length << ", " << device << ")\n";
  size_t next_task = 0;
  for (const std::string& t : o.tasks) {
    scorer.set_label(dir + " " + t);
    if (t == "ppl") {
      run.tasks.push_back(text_perplexity(in.ppl_text, encode, eot, scorer));
    } else if (t == "val") {
      run.tasks.push_back(val_task(o, m, max_length, device));
    } else if (t == "own") {
      run.tasks.push_back(own_task(dir, o, device, run.step));
    } else {
      const TaskData& data = in.tasks[next_task++];
      std::vector<Loglikelihood> lls;
      run.tasks.push_back(score_task(data, text_scorer, &lls));
      if (o.samples) samples += samples_jsonl(data, lls);
    }
  }
  return run;
}

}  // namespace

EvalRun run_eval(const EvalRunOptions& options) {
  EvalRunOptions o = options;
  // The default lm tasks are not even read when every checkpoint is of another task.
  if (o.default_tasks && std::none_of(o.checkpoints.begin(), o.checkpoints.end(),
                                      [](const std::string& d) { return train::checkpoint_task(d) == "lm"; }))
    o.tasks = {"own"};
  check_options(o);
  const SharedInputs in = read_shared_inputs(o);
  const torch::Device device = train::pick_device(o.device);
  EvalRun out;
  out.ppl_path = in.ppl_path;
  for (const std::string& dir : o.checkpoints) out.runs.push_back(eval_checkpoint(dir, o, in, device, out.samples));
  return out;
}

nlohmann::json eval_run_json(const EvalRun& run, const EvalRunOptions& o) {
  nlohmann::json j = results_json(run.runs);
  if (!run.ppl_path.empty()) j["ppl_file"] = run.ppl_path;
  j["limit"] = o.limit;
  return j;
}

}  // namespace lmlab::eval
