// Task "dialmae": post-training the encoder for dialogue retrieval (dialmae_model.h):
//   objective dialmae  L = L_enc(mask_enc(context)) + decoder_weight * L_dec(mask_dec(response) | h_[CLS])
//   objective mlm      L = L_enc(mask_enc([CLS] context [SEP] response [SEP]))  (plain MLM baseline)
// Data: data.train_files are response-selection TSVs; only their positive dialogues are used,
// as sliding-window pairs (dialogue_examples.h). data.eval_files: the full pair of each
// positive dialogue, with fixed masks, for the held-out loss. Context length = data.seq_len,
// response length = task.dialmae.response_len. Masks (whole-word, 80/10/10, mlm_masking.h) of
// training batch b are drawn from (run.seed, b, rank): resume is exact.
#include <algorithm>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/data/text_records.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/autocast.h"
#include "lmlab/train/losses.h"
#include "lmlab/train/tasks/dialmae_model.h"
#include "lmlab/train/tasks/dialogue_examples.h"
#include "lmlab/train/tasks/mlm_masking.h"
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

namespace {

uint64_t mask_seed(uint64_t seed, int64_t item, int64_t stream) {
  return seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(item) * 1000003ull + static_cast<uint64_t>(stream);
}

// What a batch of pairs becomes: masked context (or joint) and masked response tensors.
struct PairMasker {
  const PairSequences* seqs;
  const std::vector<bool>* word_start;
  EncoderSpecials sp;
  MlmConfig enc, dec;
  bool joint;  // objective mlm: [CLS] context [SEP] response [SEP] in one sequence

  // Masks from `seed` (the whole batch at once) or, with per_row, from (seed, record index).
  data::NamedBatch operator()(const std::vector<int64_t>& idx, uint64_t seed, bool per_row) const {
    std::vector<std::vector<int64_t>> joined;
    std::vector<const std::vector<int64_t>*> ctx, resp;
    for (int64_t i : idx) {
      if (joint) {
        joined.push_back(seqs->contexts[i]);
        joined.back().insert(joined.back().end(), seqs->responses[i].begin() + 1, seqs->responses[i].end());
      }
      resp.push_back(&seqs->responses[i]);
    }
    for (size_t r = 0; r < idx.size(); ++r) ctx.push_back(joint ? &joined[r] : &seqs->contexts[idx[r]]);
    data::NamedBatch c = pad_sequences(ctx, sp), rs = pad_sequences(resp, sp), out;
    auto mask = [&](const torch::Tensor& ids, const MlmConfig& cfg, int64_t stream) {
      if (!per_row) return mask_tokens(ids, *word_start, sp, cfg, mask_seed(seed, 0, stream));
      std::vector<torch::Tensor> in, lab;
      for (size_t r = 0; r < idx.size(); ++r) {
        MaskedBatch m = mask_tokens(ids.narrow(0, static_cast<int64_t>(r), 1), *word_start, sp, cfg,
                                    mask_seed(seed, idx[r], stream));
        in.push_back(m.input);
        lab.push_back(m.labels);
      }
      return MaskedBatch{torch::cat(in), torch::cat(lab)};
    };
    MaskedBatch mc = mask(c.at("ids"), enc, 0);
    out.tensors = {{"ctx_ids", mc.input}, {"ctx_labels", mc.labels}, {"ctx_pad", c.at("pad_mask")}};
    if (!joint) {
      MaskedBatch mr = mask(rs.at("ids"), dec, 1);
      out.tensors["resp_ids"] = mr.input;
      out.tensors["resp_labels"] = mr.labels;
      out.tensors["resp_pad"] = rs.at("pad_mask");
    }
    return out;
  }
};

class MaskedPairSource : public data::BatchSource {
 public:
  MaskedPairSource(data::RecordSampler sampler, PairMasker masker, uint64_t seed, int64_t rank)
      : sampler_(std::move(sampler)), masker_(masker), seed_(seed), rank_(rank) {}
  data::NamedBatch next() override {
    const int64_t b = sampler_.batches_drawn();
    return masker_(sampler_.next(), mask_seed(seed_, b, rank_ + 7), false);
  }
  int64_t batches_per_epoch() const override { return sampler_.batches_per_epoch(); }
  int64_t batches_drawn() const override { return sampler_.batches_drawn(); }
  nlohmann::json state() const override { return sampler_.state(); }
  void restore(const nlohmann::json& s) override { sampler_.restore(s); }

 private:
  data::RecordSampler sampler_;
  PairMasker masker_;
  uint64_t seed_;
  int64_t rank_;
};

MlmConfig mlm_config(const DialMaeConfig& c, double ratio) {
  MlmConfig m;
  m.mask_ratio = ratio;
  m.whole_word = c.whole_word;
  m.replace_mask = c.replace_mask;
  m.replace_random = c.replace_random;
  return m;
}

class DialMaeTask : public Task {
 public:
  void setup(TaskEnv& env) override {
    Experiment& exp = env.exp;
    cfg_ = exp.task.dialmae;
    bf16_ = env.bf16;
    joint_ = cfg_.objective == "mlm";
    if (exp.model.family != "encoder") throw UserError("run.task = \"dialmae\" needs [model] family = \"encoder\"");
    if (exp.data.tokenizer.empty()) throw UserError("data.tokenizer: dialmae needs the tokenizer.json of the dialogues");
    if (exp.data.train_files.empty() && env.training) throw UserError("data.train_files: dialmae needs response-selection TSVs");
    if (exp.data.eval_files.empty()) throw UserError("data.eval_files: dialmae needs a held-out response-selection TSV");
    if (cfg_.decoder_layers < 1 && !joint_) throw UserError("task.dialmae.decoder_layers must be >= 1");
    const int64_t longest = joint_ ? exp.data.seq_len + cfg_.response_len - 1 : std::max(exp.data.seq_len, cfg_.response_len);
    if (exp.model.max_seq_len < longest)
      throw UserError("model.max_seq_len = " + std::to_string(exp.model.max_seq_len) + " is shorter than the " +
                      std::to_string(longest) + " tokens data.seq_len and task.dialmae.response_len make");
    tokenizer_ = exp.data.tokenizer;
    tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(tokenizer_);
    specials_.text_vocab = tok.vocab_size();
    resolve_encoder_vocab(exp.model.vocab_size, specials_, tokenizer_);
    word_start_ = word_starts(tok);
    seed_ = static_cast<uint64_t>(exp.run.seed);
    batch_ = exp.train.batch_size;
    auto load = [&](const std::vector<std::string>& files, bool windows) {
      std::vector<TokenTurns> dialogues;
      for (const auto& f : files)
        for (auto& d : positive_dialogues(data::read_response_tsv(f), tok)) dialogues.push_back(std::move(d));
      std::vector<DialoguePair> pairs;
      if (windows) {
        pairs = window_pairs(dialogues, cfg_.num_window, cfg_.max_window, seed_);
      } else {
        for (size_t d = 0; d < dialogues.size(); ++d)
          pairs.push_back({static_cast<int64_t>(d), 0, static_cast<int64_t>(dialogues[d].size()) - 1});
      }
      return pair_sequences(dialogues, pairs, specials_, exp.data.seq_len, cfg_.response_len);
    };
    val_ = load(exp.data.eval_files, false);
    if (env.training) {
      train_ = load(exp.data.train_files, true);
      if (train_.size() < batch_ * env.world_size)
        throw UserError("data.train_files hold " + std::to_string(train_.size()) + " post-training pairs, fewer than one batch");
      source_ = std::make_unique<MaskedPairSource>(
          data::RecordSampler(train_.size(), batch_, seed_, env.rank, env.world_size), masker(train_), seed_, env.rank);
    }
    torch::manual_seed(seed_);
    model_ = DialMaeModel(exp.model, joint_ ? 0 : cfg_.decoder_layers);
  }

  torch::nn::Module& module() override { return *model_; }
  data::BatchSource& train_source() override { return *source_; }
  std::string tokenizer_path() const override { return tokenizer_; }
  double train_flops_per_unit() const override {
    const model::EncoderImpl& e = *model_->backbone;
    const double per_layer = e.train_flops_per_sample() / static_cast<double>(e.config().n_layer);
    const double T = static_cast<double>(e.config().max_seq_len);
    return e.train_flops_per_sample() + per_layer * static_cast<double>(model_->decoder.size()) * cfg_.response_len / T +
           3.0 * e.mlm_flops_per_token() * (cfg_.encoder_mask_ratio * T + cfg_.decoder_mask_ratio * cfg_.response_len);
  }

  LossOutput loss(const data::NamedBatch& batch) override {
    DialMaeLoss l;
    {
      Autocast ac(bf16_);
      l = dialmae_loss(*model_, batch);
    }
    LossOutput out;
    out.loss = l.enc.mean();
    out.extras["enc_loss"] = l.enc.mean().detach();
    if (!joint_) {
      out.loss = out.loss + cfg_.decoder_weight * l.dec.mean();
      out.extras["dec_loss"] = l.dec.mean().detach();
    }
    return out;
  }

  nlohmann::json evaluate(TaskEnv& env) override {
    torch::NoGradGuard no_grad;
    auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(env.device);
    std::vector<torch::Tensor> t;  // enc sum, count, right; dec sum, count, right
    for (int i = 0; i < 6; ++i) t.push_back(torch::zeros({}, opts));
    PairMasker m = masker(val_);
    for (int64_t i = env.rank * batch_; i < val_.size(); i += batch_ * env.world_size) {
      std::vector<int64_t> idx;
      for (int64_t j = i; j < std::min(val_.size(), i + batch_); ++j) idx.push_back(j);
      data::NamedBatch b = m(idx, seed_ + 1, /*per_row=*/true).to(env.device);  // fixed masks per pair
      Autocast ac(env.bf16);
      DialMaeLoss l = dialmae_loss(*model_, b);
      std::vector<MaskedCe*> parts = {&l.enc, &l.dec};
      for (size_t p = 0; p < (joint_ ? 1u : 2u); ++p) {
        t[3 * p] += parts[p]->sum.to(torch::kFloat64);
        t[3 * p + 1] += parts[p]->count;
        t[3 * p + 2] += parts[p]->right;
      }
    }
    env.all_reduce_sum(t);
    auto ratio = [](const torch::Tensor& a, const torch::Tensor& b) { return a.item<double>() / std::max(1.0, b.item<double>()); };
    nlohmann::json out = {{"enc_loss", ratio(t[0], t[1])}, {"enc_acc", ratio(t[2], t[1])}};
    double val = out["enc_loss"].get<double>();
    if (!joint_) {
      out["dec_loss"] = ratio(t[3], t[4]);
      out["dec_acc"] = ratio(t[5], t[4]);
      val += cfg_.decoder_weight * out["dec_loss"].get<double>();
    }
    out["val_loss"] = val;
    out["pairs"] = val_.size();
    return out;
  }

  std::string describe() override {
    std::ostringstream out;
    int64_t total = 0;
    for (const auto& p : model_->parameters()) total += p.numel();
    out << "total_params " << total << "\n"
        << "backbone_params " << model_->backbone->total_params() << "\n"
        << "decoder_layers " << model_->decoder.size() << "\n"
        << "train_pairs " << train_.size() << "\n";
    return out.str();
  }

 private:
  PairMasker masker(const PairSequences& seqs) const {
    return {&seqs, &word_start_, specials_, mlm_config(cfg_, cfg_.encoder_mask_ratio),
            mlm_config(cfg_, cfg_.decoder_mask_ratio), joint_};
  }

  DialMaeConfig cfg_;
  EncoderSpecials specials_;
  std::vector<bool> word_start_;
  std::string tokenizer_;
  PairSequences train_, val_;
  std::unique_ptr<MaskedPairSource> source_;
  DialMaeModel model_{nullptr};
  uint64_t seed_ = 0;
  int64_t batch_ = 1;
  bool bf16_ = false, joint_ = false;
};

}  // namespace

void register_dialmae_task(TaskRegistry& r) {
  r.add("dialmae", "Dial-MAE post-training: context encoder MLM + shallow decoder rebuilding the response from [CLS] "
                   "(or plain MLM on the dialogues)",
        [] { return std::make_unique<DialMaeTask>(); });
}

}  // namespace lmlab::train
