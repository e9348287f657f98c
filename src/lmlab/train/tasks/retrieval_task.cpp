// Task "retrieval": dual-tower fine-tuning of a dialogue retriever (retrieval_model.h) with the
// in-batch contrastive loss of Dial-MAE's fine-tuning:
//   S = z_c z_r^T  (B, B),   loss = CE(S, diag)   (each context against every response of the batch)
// Training pairs: every prefix of each positive dialogue of data.train_files
// (dialogue_examples.h). Both towers start from the same encoder: train.init_from fills the
// context tower ("backbone.*", e.g. from a dialmae or mlm run) and on_start copies it into the
// response tower, so the towers begin equal and then train apart. Evaluation: each of
// data.eval_files (response-selection TSVs) scored by dot product with R10@1/2/5, MRR and R2@1
// (rsel_metrics.h); the top-level metrics are those of the first file.
#include <filesystem>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/data/text_records.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/tasks/retrieval_model.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

class RetrievalTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    bf16_ = env.bf16;
    const RetrievalConfig& rc = exp.task.retrieval;
    if (exp.model.family != "encoder") throw UserError("run.task = \"retrieval\" needs [model] family = \"encoder\"");
    if (exp.data.tokenizer.empty()) throw UserError("data.tokenizer: retrieval needs the tokenizer.json of the dialogues");
    if (exp.data.train_files.empty() && env.training) throw UserError("data.train_files: retrieval needs response-selection TSVs");
    if (exp.data.eval_files.empty()) throw UserError("data.eval_files: retrieval needs response-selection TSVs to score");
    if (exp.model.max_seq_len < std::max(exp.data.seq_len, rc.response_len))
      throw UserError("model.max_seq_len must be >= data.seq_len and task.retrieval.response_len");
    tokenizer_ = exp.data.tokenizer;
    tok_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(tokenizer_));
    text_ = {tok_.get(), EncoderSpecials{static_cast<int64_t>(tok_->vocab_size())}, exp.data.seq_len, rc.response_len,
             exp.train.batch_size};
    resolve_encoder_vocab(exp.model.vocab_size, text_.sp, tokenizer_);
    eval_files_ = exp.data.eval_files;
    for (const auto& f : eval_files_) data::read_response_tsv(f);  // a bad file fails now, not after training
    if (env.training) {
      std::vector<TokenTurns> dialogues;
      for (const auto& f : exp.data.train_files)
        for (auto& d : positive_dialogues(data::read_response_tsv(f), *tok_)) dialogues.push_back(std::move(d));
      train_ = pair_sequences(dialogues, prefix_pairs(dialogues, rc.min_context_tokens), text_.sp, exp.data.seq_len,
                              rc.response_len);
      if (train_.size() < exp.train.batch_size * env.world_size)
        throw UserError("data.train_files hold " + std::to_string(train_.size()) + " prefix pairs, fewer than one batch");
      const PairSequences* seqs = &train_;
      const EncoderSpecials sp = text_.sp;
      source_ = std::make_unique<data::CollatedSource>(
          data::RecordSampler(train_.size(), exp.train.batch_size, static_cast<uint64_t>(exp.run.seed), env.rank,
                              env.world_size),
          [seqs, sp](const std::vector<int64_t>& idx) {
            std::vector<const std::vector<int64_t>*> c, r;
            for (int64_t i : idx) {
              c.push_back(&seqs->contexts[i]);
              r.push_back(&seqs->responses[i]);
            }
            data::NamedBatch bc = pad_sequences(c, sp), br = pad_sequences(r, sp), out;
            out.tensors = {{"ctx_ids", bc.at("ids")}, {"ctx_pad", bc.at("pad_mask")},
                           {"resp_ids", br.at("ids")}, {"resp_pad", br.at("pad_mask")}};
            return out;
          });
    }
    torch::manual_seed(static_cast<uint64_t>(exp.run.seed));
    model_ = RetrievalModel(exp.model);
  }

  // A fresh run: the response tower starts as a copy of the (possibly post-trained) context tower.
  void on_start(TaskEnv& env) override {
    if (env.start_step > 0) return;
    torch::NoGradGuard no_grad;
    auto src = model_->backbone->named_parameters(), dst = model_->response->named_parameters();
    for (auto& p : dst) p.value().copy_(src[p.key()]);
  }

  torch::nn::Module& module() override { return *model_; }
  data::BatchSource& train_source() override { return *source_; }
  std::string primary_metric() const override { return "r10_1"; }
  std::string tokenizer_path() const override { return tokenizer_; }
  double train_flops_per_unit() const override { return 2.0 * model_->backbone->train_flops_per_sample(); }

  LossOutput loss(const data::NamedBatch& b) override {
    torch::Tensor sim;
    {
      Autocast ac(bf16_);
      torch::Tensor zc = model_->cls(*model_->backbone, b.at("ctx_ids"), b.at("ctx_pad"));    // (B, C)
      torch::Tensor zr = model_->cls(*model_->response, b.at("resp_ids"), b.at("resp_pad"));  // (B, C)
      sim = zc.matmul(zr.t()).to(torch::kFloat32);                                           // (B, B)
    }
    torch::Tensor target = torch::arange(sim.size(0), torch::TensorOptions().dtype(torch::kInt64).device(sim.device()));
    LossOutput out;
    out.loss = torch::nn::functional::cross_entropy(sim, target);
    out.extras["acc"] = sim.argmax(1).eq(target).to(torch::kFloat32).mean().detach();
    return out;
  }

  // Rank 0 scores every file (the sets are small); other ranks return the same numbers.
  nlohmann::json evaluate(TaskEnv& env) override {
    nlohmann::json files = nlohmann::json::object(), out;
    for (size_t f = 0; f < eval_files_.size(); ++f) {
      std::string name = std::filesystem::path(eval_files_[f]).parent_path().filename().string() + "/" +
                         std::filesystem::path(eval_files_[f]).filename().string();
      files[name] = score_rsel_file(*model_, text_, eval_files_[f], env.device).to_json();
      if (f == 0) out = files[name];
    }
    out["files"] = files;
    return out;
  }

  std::string describe() override {
    std::ostringstream out;
    out << "total_params " << model_->backbone->total_params() + model_->response->total_params() << "\n"
        << "tower_params " << model_->backbone->total_params() << "\n"
        << "train_pairs " << train_.size() << "\n";
    return out.str();
  }

 private:
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::string tokenizer_;
  RetrievalText text_;
  std::vector<std::string> eval_files_;
  PairSequences train_;
  std::unique_ptr<data::CollatedSource> source_;
  RetrievalModel model_{nullptr};
  bool bf16_ = false;
};

}  // namespace

void register_retrieval_task(TaskRegistry& r) {
  r.add("retrieval", "dual-tower dialogue retriever: in-batch contrastive fine-tuning, R10@k / MRR on response-selection TSVs",
        [] { return std::make_unique<RetrievalTask>(); });
}

}  // namespace lmlab::train
