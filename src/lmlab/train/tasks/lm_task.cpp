// Task "lm": a decoder-only transformer (model::Transformer, every FFN of the registry) trained
// with the next-token loss of [train.loss] (CE, MiLe, focal) plus the FFNs' auxiliary losses on
// token windows of `lmlab data prepare` shards:
//   loss = lm_loss(logits(x), y) + sum_layers aux
// Evaluation: mean next-token loss over eval.windows fixed validation windows (spread over the
// split, or at document starts: eval.windows_at), and its value and standard error at each
// position (position_loss.jsonl, what the Temporal Scaling Law fits). MaskMoE is handed
// the training shard's token counts before the first step; MoE runs end with an expert-load
// heatmap of the final validation pass.
#include "lmlab/analysis/expert_heatmap.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/loader.h"
#include "lmlab/model/moe/mask_moe.h"
#include "lmlab/model/transformer.h"
#include "lmlab/runlog/jsonl.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/doc_windows.h"
#include "lmlab/train/evaluate.h"
#include "lmlab/train/tasks/decoder_task.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

// Fills model.vocab_size from the data when it is 0; checks it covers the data otherwise.
void resolve_vocab(Experiment& exp, const nlohmann::json& meta) {
  int64_t data_vocab = meta.at("vocab_size").get<int64_t>();
  if (exp.model.vocab_size == 0) exp.model.vocab_size = data_vocab;
  if (exp.model.vocab_size < data_vocab)
    throw UserError("model.vocab_size = " + std::to_string(exp.model.vocab_size) + " is smaller than the data's " +
                    std::to_string(data_vocab) + " (" + exp.data.dir + "/meta.json)");
}

class LmTask : public DecoderTask {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    if (exp.model.family != "decoder")
      throw UserError("run.task = \"lm\" trains a decoder; [model] family is \"" + exp.model.family + "\"");
    nlohmann::json meta = data::read_data_meta(exp.data.dir);
    resolve_vocab(exp, meta);
    const std::string meta_path = exp.data.dir + "/meta.json";
    const int64_t data_vocab = meta.at("vocab_size").get<int64_t>();  // <= model.vocab_size (resolve_vocab)
    val_shard_ = std::make_unique<data::TokenShard>(exp.data.dir + "/" + meta["val"].value("file", "val.bin"));
    data::check_token_ids(*val_shard_, data_vocab, meta_path);
    if (env.training) {
      train_shard_ = std::make_unique<data::TokenShard>(exp.data.dir + "/" + meta["train"].value("file", "train.bin"));
      data::check_token_ids(*train_shard_, data_vocab, meta_path);
      source_ = std::make_unique<data::WindowSource>(*train_shard_, exp.data.seq_len, env.batch_per_rank,
                                                     static_cast<uint64_t>(exp.run.seed), env.rank, env.world_size);
    }
    // Checkpoints carry the data's tokenizer (when it has one) so generation needs nothing else.
    tokenizer_ = exp.data.dir + "/" + meta.value("tokenizer", std::string("tokenizer.json"));
    if (!file_exists(tokenizer_)) tokenizer_.clear();
    build_decoder(env);
    // MaskMoE splits frequent from infrequent tokens by their count in the training data (a
    // checkpoint brings its own routing mask, so evaluation needs no counts).
    if (exp.model.ffn.type == "mask_moe" && env.training)
      model::moe::set_token_frequencies(*model_, torch::tensor(data::count_token_ids(*train_shard_, exp.model.vocab_size)));
    eval_windows_ = choose_eval_windows(exp, meta, env);
    eval_batch_ = exp.train.batch_size;
  }

  data::BatchSource& train_source() override { return *source_; }

  nlohmann::json evaluate(TaskEnv& env) override {
    last_eval_ = evaluate_window_set(
        *val_shard_, seq_len_, eval_windows_, eval_batch_, env.device,
        [&](const torch::Tensor& x) {
          Autocast ac(env.bf16);
          return model_->forward(x);
        },
        env.all_reduce_sum);
    return {{"val_loss", last_eval_.loss}};
  }

  void on_start(TaskEnv& env) override {
    if (!env.main) return;
    position_path_ = env.run_dir + "/position_loss.jsonl";
    if (env.resume)
      runlog::truncate_jsonl(position_path_, env.start_step);  // a resumed run redoes the rest
    else
      write_file_atomic(position_path_, "");
  }

  void on_eval(TaskEnv& env, int64_t step, int64_t tokens, const nlohmann::json&) override {
    if (!env.main) return;
    nlohmann::json line = {{"step", step}, {"tokens", tokens}, {"loss", last_eval_.loss},
                           {"position_loss", last_eval_.position_loss}};
    // Document-start windows also record each position's noise and how many windows kept it
    // (spread windows keep the record they always had).
    if (windows_at_ == "doc_start") {
      line["position_se"] = last_eval_.position_se;
      line["position_count"] = last_eval_.position_count;
      line["windows_at"] = windows_at_;
    }
    runlog::append_jsonl(position_path_, line);
  }

  nlohmann::json log_extras() override {
    nlohmann::json stats = model_->ffn_stats();
    return stats.empty() ? nlohmann::json::object() : nlohmann::json{{"ffn", stats}};
  }

  // MoE runs: per-layer expert load of the last forward (the final validation pass) as a heatmap.
  void on_end(TaskEnv& env, int64_t step) override {
    nlohmann::json stats = model_->ffn_stats();
    if (!env.main || stats.empty()) return;
    analysis::ExpertLoad load = analysis::expert_load_from_stats(stats);
    if (load.layers.empty()) return;
    make_dirs(env.run_dir + "/plots");
    analysis::write_expert_heatmap(load, env.run_dir + "/plots/expert_load.png",
                                   "expert load, validation at step " + std::to_string(step));
  }

 private:
  std::unique_ptr<data::TokenShard> train_shard_, val_shard_;
  std::unique_ptr<data::WindowSource> source_;
  // eval.windows_at = "doc_start": windows at document starts, positions after the first
  // document's <|endoftext|> masked (doc_windows.h); "spread": data::eval_window_starts.
  EvalWindows choose_eval_windows(const Experiment& exp, const nlohmann::json& meta, const TaskEnv& env) {
    windows_at_ = exp.eval.windows_at;
    if (windows_at_ != "doc_start")
      return {data::eval_window_starts(*val_shard_, exp.data.seq_len, exp.eval.windows, env.rank, env.world_size), -1};
    if (!meta.contains("eot_id") || !meta["eot_id"].is_number_unsigned())
      throw UserError(exp.data.dir + "/meta.json: eval.windows_at = \"doc_start\" needs the data's \"eot_id\"");
    const auto eot = meta["eot_id"].get<uint32_t>();
    return {document_window_starts(*val_shard_, eot, exp.data.seq_len, exp.eval.windows, env.rank, env.world_size), eot};
  }

  EvalWindows eval_windows_;
  int64_t eval_batch_ = 0;
  std::string windows_at_, position_path_;
  EvalResult last_eval_;
};

}  // namespace

void register_lm_task(TaskRegistry& r) {
  r.add("lm", "causal language model on token windows (decoder; CE/MiLe/focal + MoE aux losses)",
        [] { return std::make_unique<LmTask>(); });
}

}  // namespace lmlab::train
