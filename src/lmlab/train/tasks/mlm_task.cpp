// Task "mlm": masked-LM pre-training of the bidirectional encoder on token windows of
// `lmlab data prepare` shards (BERT, with whole-word masking):
//   ids    = [CLS] window [SEP]                     (T = data.seq_len; windows of T-2 tokens)
//   input, labels = mask_tokens(ids)                (mlm_masking.h, [task.mlm])
//   loss   = CE(mlm_logits(hidden(input))[masked], labels[masked])
// The masks of training batch b are drawn from (run.seed, b, rank), so resume is exact; the
// validation windows get fixed masks. Evaluation: loss and accuracy over the masked tokens.
// The module is {"backbone": encoder} so classify can continue from it (train.init_from).
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/model/encoder.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/losses.h"
#include "lmlab/train/tasks/mlm_masking.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

// [CLS] window [SEP] for (B, T-2) windows -> (B, T).
torch::Tensor frame(const torch::Tensor& windows, const EncoderSpecials& sp) {
  const int64_t B = windows.size(0);
  return torch::cat({torch::full({B, 1}, sp.cls(), torch::kInt64), windows,
                     torch::full({B, 1}, sp.sep(), torch::kInt64)}, 1);
}

uint64_t mask_seed(uint64_t seed, int64_t batch, int64_t rank) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(batch) * 1000003ull + static_cast<uint64_t>(rank);
}

// Token windows of a shard, framed and masked: {"ids", "labels"} (B, T).
class MaskedWindows : public data::BatchSource {
 public:
  MaskedWindows(std::unique_ptr<data::WindowSource> windows, const std::vector<bool>* word_start, EncoderSpecials sp,
                MlmConfig cfg, uint64_t seed, int64_t rank)
      : windows_(std::move(windows)), word_start_(word_start), sp_(sp), cfg_(cfg), seed_(seed), rank_(rank) {}

  data::NamedBatch next() override {
    const int64_t b = windows_->batches_drawn();
    MaskedBatch m = mask_tokens(frame(windows_->next().at("x"), sp_), *word_start_, sp_, cfg_, mask_seed(seed_, b, rank_));
    data::NamedBatch out;
    out.tensors["ids"] = m.input;
    out.tensors["labels"] = m.labels;
    return out;
  }
  int64_t batches_per_epoch() const override { return windows_->batches_per_epoch(); }
  int64_t batches_drawn() const override { return windows_->batches_drawn(); }
  nlohmann::json state() const override { return windows_->state(); }
  void restore(const nlohmann::json& s) override { windows_->restore(s); }

 private:
  std::unique_ptr<data::WindowSource> windows_;
  const std::vector<bool>* word_start_;
  EncoderSpecials sp_;
  MlmConfig cfg_;
  uint64_t seed_;
  int64_t rank_;
};

class MlmModelImpl : public torch::nn::Module {
 public:
  explicit MlmModelImpl(const ModelConfig& cfg) { backbone = register_module("backbone", model::Encoder(cfg)); }
  model::Encoder backbone{nullptr};
};
TORCH_MODULE(MlmModel);

class MlmTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    bf16_ = env.bf16;
    if (exp.model.family != "encoder") throw UserError("run.task = \"mlm\" needs [model] family = \"encoder\"");
    if (exp.data.seq_len < 3) throw UserError("data.seq_len must be >= 3 for [CLS] window [SEP]");
    nlohmann::json meta = data::read_data_meta(exp.data.dir);
    specials_.text_vocab = meta.at("vocab_size").get<int64_t>();
    resolve_encoder_vocab(exp.model.vocab_size, specials_, exp.data.dir + "/meta.json");
    tokenizer_ = exp.data.dir + "/" + meta.value("tokenizer", std::string("tokenizer.json"));
    if (file_exists(tokenizer_)) {
      word_start_ = word_starts(tokenizer::Tokenizer::load(tokenizer_));
    } else {
      if (exp.task.mlm.whole_word) throw_user_error(tokenizer_, "is missing: whole-word masking reads word starts from it");
      tokenizer_.clear();
      word_start_.assign(static_cast<size_t>(specials_.text_vocab), true);
    }
    cfg_ = exp.task.mlm;
    seed_ = static_cast<uint64_t>(exp.run.seed);
    window_ = exp.data.seq_len - 2;
    eval_windows_ = exp.eval.windows;
    batch_ = exp.train.batch_size;
    val_shard_ = std::make_unique<data::TokenShard>(exp.data.dir + "/" + meta["val"].value("file", "val.bin"));
    data::check_token_ids(*val_shard_, specials_.text_vocab, exp.data.dir + "/meta.json");
    if (env.training) {
      train_shard_ = std::make_unique<data::TokenShard>(exp.data.dir + "/" + meta["train"].value("file", "train.bin"));
      data::check_token_ids(*train_shard_, specials_.text_vocab, exp.data.dir + "/meta.json");
      source_ = std::make_unique<MaskedWindows>(
          std::make_unique<data::WindowSource>(*train_shard_, window_, batch_, seed_, env.rank, env.world_size),
          &word_start_, specials_, cfg_, seed_, env.rank);
    }
    torch::manual_seed(seed_);
    model_ = MlmModel(exp.model);
  }

  torch::nn::Module& module() override { return *model_; }
  data::BatchSource& train_source() override { return *source_; }
  std::string unit() const override { return "tokens"; }
  int64_t units_per_batch(const data::NamedBatch& b) const override { return b.at("ids").numel(); }
  double train_flops_per_unit() const override {
    const model::EncoderImpl& e = *model_->backbone;
    return e.train_flops_per_sample() / static_cast<double>(e.config().max_seq_len) +
           3.0 * e.mlm_flops_per_token() * cfg_.mask_ratio;
  }
  std::string tokenizer_path() const override { return tokenizer_; }

  // Sum of CE over the masked tokens, their count and how many were predicted right.
  std::array<torch::Tensor, 3> masked_loss(const data::NamedBatch& b, bool bf16) {
    const torch::Tensor& labels = b.at("labels");  // (B, T)
    torch::Tensor logits;
    {
      Autocast ac(bf16);
      model::BackboneInput in;
      in.ids = b.at("ids");
      torch::Tensor hidden = model_->backbone->hidden(in);  // (B, T, C)
      torch::Tensor masked = labels.ne(kIgnoreIndex);
      logits = model_->backbone->mlm_logits(hidden.index({masked})).to(torch::kFloat32);  // (M, V)
    }
    torch::Tensor target = labels.masked_select(labels.ne(kIgnoreIndex));  // (M)
    torch::Tensor sum = torch::nn::functional::cross_entropy(
        logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    return {sum, torch::tensor(static_cast<double>(target.size(0)), logits.options().dtype(torch::kFloat64)),
            logits.argmax(1).eq(target).sum().to(torch::kFloat64)};
  }

  LossOutput loss(const data::NamedBatch& batch) override {
    auto [sum, count, right] = masked_loss(batch, bf16_);
    LossOutput out;
    out.loss = (sum / count).to(torch::kFloat32);  // no host sync: the count stays on the device
    out.extras["acc"] = (right / count).detach();
    return out;
  }

  nlohmann::json evaluate(TaskEnv& env) override {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> starts = data::eval_window_starts(*val_shard_, window_, eval_windows_, env.rank, env.world_size);
    auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(env.device);
    std::vector<torch::Tensor> totals = {torch::zeros({}, opts), torch::zeros({}, opts), torch::zeros({}, opts)};
    for (size_t i = 0; i < starts.size(); i += static_cast<size_t>(batch_)) {
      std::vector<int64_t> chunk(starts.begin() + i, starts.begin() + std::min(starts.size(), i + batch_));
      // Fixed masks: the window starting at token s always gets the seed (run.seed + 1, s),
      // whatever the batch size or the number of ranks.
      torch::Tensor ids = frame(data::windows_at(*val_shard_, chunk, window_).x, specials_);  // (B, T)
      std::vector<torch::Tensor> inputs, labels;
      for (size_t r = 0; r < chunk.size(); ++r) {
        MaskedBatch m = mask_tokens(ids.narrow(0, static_cast<int64_t>(r), 1), word_start_, specials_, cfg_,
                                    mask_seed(seed_ + 1, chunk[r], 0));
        inputs.push_back(m.input);
        labels.push_back(m.labels);
      }
      data::NamedBatch b;
      b.tensors["ids"] = torch::cat(inputs);
      b.tensors["labels"] = torch::cat(labels);
      auto parts = masked_loss(b.to(env.device), env.bf16);
      for (size_t j = 0; j < 3; ++j) totals[j] += parts[j].to(torch::kFloat64);
    }
    env.all_reduce_sum(totals);
    const double count = totals[1].item<double>();
    return {{"val_loss", totals[0].item<double>() / count}, {"acc", totals[2].item<double>() / count},
            {"masked_tokens", count}};
  }

  std::string describe() override {
    std::ostringstream out;
    out << "total_params " << model_->backbone->total_params() << "\n"
        << "train_flops_per_token " << train_flops_per_unit() << "  (seq_len " << window_ + 2 << ")\n";
    return out.str();
  }

 private:
  EncoderSpecials specials_;
  std::vector<bool> word_start_;
  MlmConfig cfg_;
  uint64_t seed_ = 0;
  int64_t window_ = 0, eval_windows_ = 0, batch_ = 1;
  bool bf16_ = false;
  std::string tokenizer_;
  std::unique_ptr<data::TokenShard> train_shard_, val_shard_;
  std::unique_ptr<MaskedWindows> source_;
  MlmModel model_{nullptr};
};

}  // namespace

void register_mlm_task(TaskRegistry& r) {
  r.add("mlm", "masked-LM pre-training of the bidirectional encoder (whole-word masking, 80/10/10)",
        [] { return std::make_unique<MlmTask>(); });
}

}  // namespace lmlab::train
