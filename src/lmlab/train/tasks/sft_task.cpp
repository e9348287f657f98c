// Task "sft": supervised fine-tuning of the decoder (usually from an lm run: train.init_from)
// on instruction data, next-token loss on the response tokens only (sft_examples.h):
//   loss = lm_loss(logits(x), y) + sum_layers aux,   y = kIgnoreIndex outside the responses
// Held out: data.eval_files, or without them every k-th training example, k = round(1 /
// task.sft.val_fraction). Evaluation: the mean NLL per response token over all of it.
#include <cmath>
#include <iostream>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/model/transformer.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/tasks/sft_examples.h"
#include "lmlab/train/tasks/decoder_task.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

class SftTask : public DecoderTask {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    if (exp.model.family != "decoder") throw UserError("run.task = \"sft\" trains a decoder ([model] family = \"decoder\")");
    if (exp.data.tokenizer.empty()) throw UserError("data.tokenizer: sft needs the tokenizer.json of the base model");
    if (exp.data.train_files.empty() && env.training) throw UserError("data.train_files: sft needs instruction files");
    tokenizer_ = exp.data.tokenizer;
    tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(tokenizer_);
    auto eot = tok.special_id("<|endoftext|>");
    if (!eot) throw_user_error(tokenizer_, "has no <|endoftext|> special token to end responses with");
    eot_ = *eot;
    if (exp.model.vocab_size == 0) exp.model.vocab_size = tok.vocab_size();
    if (exp.model.vocab_size < static_cast<int64_t>(tok.vocab_size()))
      throw UserError("model.vocab_size = " + std::to_string(exp.model.vocab_size) + " is smaller than the tokenizer's " +
                      std::to_string(tok.vocab_size()) + " (" + tokenizer_ + ")");
    load_examples(env, tok);
    response_only_ = exp.task.sft.loss_on == "response";
    batch_ = exp.train.batch_size;
    if (env.training) {
      const auto* train = &train_;
      const int64_t eot_id = eot_;
      const bool response_only = response_only_;
      source_ = std::make_unique<data::CollatedSource>(
          data::RecordSampler(static_cast<int64_t>(train_.size()), batch_, static_cast<uint64_t>(exp.run.seed), env.rank,
                              env.world_size),
          [train, eot_id, response_only](const std::vector<int64_t>& idx) {
            std::vector<const SftExample*> ex;
            for (int64_t i : idx) ex.push_back(&(*train)[i]);
            return sft_batch(ex, eot_id, response_only);
          });
    }
    build_decoder(env);
  }

  data::BatchSource& train_source() override { return *source_; }

  nlohmann::json evaluate(TaskEnv& env) override {
    torch::NoGradGuard no_grad;
    auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(env.device);
    std::vector<torch::Tensor> totals = {torch::zeros({}, opts), torch::zeros({}, opts)};
    std::vector<const SftExample*> mine;
    for (size_t k = static_cast<size_t>(env.rank); k < held_out_.size(); k += static_cast<size_t>(env.world_size))
      mine.push_back(&held_out_[k]);
    for (size_t i = 0; i < mine.size(); i += static_cast<size_t>(batch_)) {
      std::vector<const SftExample*> chunk(mine.begin() + i, mine.begin() + std::min(mine.size(), i + batch_));
      data::NamedBatch b = sft_batch(chunk, eot_, /*response_only=*/true).to(env.device);
      torch::Tensor logits;
      {
        Autocast ac(env.bf16);
        logits = model_->forward(b.at("x")).to(torch::kFloat32);  // (B, T, V)
      }
      torch::Tensor y = b.at("y").reshape({-1});
      totals[0] += torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), y,
                                                        torch::nn::functional::CrossEntropyFuncOptions()
                                                            .reduction(torch::kSum)
                                                            .ignore_index(kIgnoreIndex))
                       .to(torch::kFloat64);
      totals[1] += y.ne(kIgnoreIndex).sum().to(torch::kFloat64);
    }
    env.all_reduce_sum(totals);
    const double tokens = totals[1].item<double>();
    return {{"val_loss", totals[0].item<double>() / tokens}, {"response_tokens", tokens}};
  }

  std::string describe() override {
    std::ostringstream out;
    out << DecoderTask::describe() << "examples " << train_.size() << " train, " << held_out_.size() << " held out\n";
    return out.str();
  }

 private:
  void load_examples(TaskEnv& env, const tokenizer::Tokenizer& tok);

  int64_t eot_ = 0, batch_ = 1;
  bool response_only_ = true;
  std::vector<SftExample> train_, held_out_;
  std::unique_ptr<data::CollatedSource> source_;
};

void SftTask::load_examples(TaskEnv& env, const tokenizer::Tokenizer& tok) {
  const Experiment& exp = env.exp;
  int64_t dropped = 0;
  // Where record i of a file goes: "train", "eval", or "split" (every k-th held out).
  auto add = [&](const std::string& file, const std::string& role) {
    const auto records = data::read_instructions(file);
    const double f = exp.task.sft.val_fraction;
    const int64_t every = f > 0 ? std::max<int64_t>(2, std::llround(1.0 / f)) : 0;
    for (size_t i = 0; i < records.size(); ++i) {
      SftExample ex = tokenize_sft(tok, records[i], eot_, exp.data.seq_len);
      if (ex.ids.empty()) {
        ++dropped;
        continue;
      }
      const bool held = role == "eval" || (role == "split" && every > 0 && static_cast<int64_t>(i) % every == every - 1);
      (held ? held_out_ : train_).push_back(std::move(ex));
    }
  };
  const bool split = exp.data.eval_files.empty();
  if (env.training || split)
    for (const auto& f : exp.data.train_files) add(f, split ? "split" : "train");
  for (const auto& f : exp.data.eval_files) add(f, "eval");
  if (!env.training) train_.clear();
  if (held_out_.empty()) throw UserError("sft: no held-out examples (set data.eval_files or task.sft.val_fraction > 0)");
  if (env.main && dropped > 0)
    std::cerr << "sft: " << dropped << " examples dropped: their prompt alone fills data.seq_len = " << exp.data.seq_len
              << "\n";
}

}  // namespace

void register_sft_task(TaskRegistry& r) {
  r.add("sft", "supervised fine-tuning of the decoder on instruction data, loss on the response tokens",
        [] { return std::make_unique<SftTask>(); });
}

}  // namespace lmlab::train
