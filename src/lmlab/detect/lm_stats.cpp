// LM-statistics detector (formulas in lm_stats.h).
#include "lmlab/detect/lm_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "lmlab/detect/detect_config.h"
#include "lmlab/detect/detector.h"
#include "lmlab/train/checkpoint.h"

namespace lmlab::detect {

std::vector<TextStats> lm_text_stats(model::Transformer& lm, const tokenizer::Tokenizer& tok, int64_t eot,
                                     const std::vector<DetectExample>& xs, int64_t max_tokens, int64_t batch_size,
                                     const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const int64_t max_len = std::min<int64_t>(max_tokens + 1, lm->config().max_seq_len);
  std::vector<TextStats> out(xs.size());
  for (size_t start = 0; start < xs.size(); start += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(xs.size(), start + static_cast<size_t>(batch_size));
    std::vector<std::vector<int64_t>> seqs;
    int64_t T = 2;
    for (size_t i = start; i < end; ++i) {
      std::vector<int64_t> ids = {eot};
      for (uint32_t id : tok.encode(xs[i].text)) ids.push_back(id);
      if (ids.size() < 2) ids.push_back(eot);  // an empty text: score the end of text itself
      if (static_cast<int64_t>(ids.size()) > max_len) ids.resize(static_cast<size_t>(max_len));
      T = std::max<int64_t>(T, static_cast<int64_t>(ids.size()));
      seqs.push_back(std::move(ids));
    }
    const int64_t B = static_cast<int64_t>(seqs.size());
    torch::Tensor ids = torch::full({B, T}, eot, torch::kInt64), mask = torch::zeros({B, T - 1}, torch::kFloat32);
    for (int64_t b = 0; b < B; ++b) {
      const auto n = static_cast<int64_t>(seqs[b].size());
      ids[b].narrow(0, 0, n).copy_(torch::tensor(seqs[b], torch::kInt64));
      mask[b].narrow(0, 0, n - 1).fill_(1);
    }
    ids = ids.to(device);
    mask = mask.to(device);
    torch::Tensor logits = lm->forward(ids.narrow(1, 0, T - 1)).to(torch::kFloat32);  // (B, T-1, V)
    torch::Tensor target = ids.narrow(1, 1, T - 1).unsqueeze(-1);                      // (B, T-1, 1)
    torch::Tensor true_logit = logits.gather(-1, target);                              // (B, T-1, 1)
    torch::Tensor logp = torch::log_softmax(logits, -1).gather(-1, target).squeeze(-1);  // (B, T-1)
    torch::Tensor rank = logits.gt(true_logit).sum(-1).to(torch::kFloat32) + 1;         // (B, T-1)
    torch::Tensor n = mask.sum(1);
    torch::Tensor ll = ((logp * mask).sum(1) / n).cpu(), lr = ((rank.log() * mask).sum(1) / n).cpu();
    for (int64_t b = 0; b < B; ++b) out[start + static_cast<size_t>(b)] = {ll[b].item<double>(), lr[b].item<double>()};
  }
  return out;
}

Threshold best_threshold(const std::vector<double>& s, const std::vector<int>& labels) {
  if (s.empty()) throw UserError("detect: no validation texts to choose the lm_stats threshold on");
  std::vector<size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
  const auto N = static_cast<double>(s.size());
  double positives = 0;
  for (int y : labels) positives += y == kModel;
  Threshold best;
  best.val_acc = -1;
  // Cut k: the k smallest are one side. Sign +1: the rest (larger s) is "model".
  double model_below = 0;  // model-labelled texts among the k smallest
  for (size_t k = 0; k <= order.size(); ++k) {
    if (k > 0) model_below += labels[order[k - 1]] == kModel;
    if (k > 0 && k < order.size() && s[order[k - 1]] == s[order[k]]) continue;  // not a cut between values
    const double human_below = static_cast<double>(k) - model_below;
    const double acc_up = (human_below + (positives - model_below)) / N;  // above = model
    const double acc_down = 1.0 - acc_up;                                  // below = model
    const double lo = k == 0 ? s[order[0]] - 1 : s[order[k - 1]];
    const double hi = k == order.size() ? s[order.back()] + 1 : s[order[k]];
    const double cut = (lo + hi) / 2;
    if (acc_up > best.val_acc) best = {1, cut, 1, acc_up};
    if (acc_down > best.val_acc) best = {-1, cut, 1, acc_down};
  }
  const double mean = std::accumulate(s.begin(), s.end(), 0.0) / N;
  double var = 0;
  for (double v : s) var += (v - mean) * (v - mean);
  best.scale = std::max(1e-6, std::sqrt(var / N));
  return best;
}

namespace {

double statistic(const TextStats& t, const std::string& name) { return name == "loglik" ? t.loglik : t.logrank; }

class LmStatsDetector : public Detector {
 public:
  LmStatsDetector(const nlohmann::json& meta, const torch::Device& device)
      : inf_(train::load_for_inference(meta.at("checkpoint").get<std::string>(), device)),
        tok_(train::load_tokenizer(inf_)),
        device_(device),
        meta_(meta) {
    auto eot = tok_.special_id("<|endoftext|>");
    if (!eot) throw_user_error(inf_.tokenizer_path, "has no <|endoftext|> token to start texts with");
    eot_ = *eot;
  }

  std::vector<double> p_model(const std::vector<DetectExample>& xs) override {
    auto stats = lm_text_stats(inf_.model, tok_, eot_, xs, meta_.at("max_tokens"), meta_.at("batch_size"), device_);
    const double sign = meta_.at("sign"), thr = meta_.at("threshold"), scale = meta_.at("scale");
    std::vector<double> p;
    for (const auto& t : stats) p.push_back(1.0 / (1.0 + std::exp(-sign * (statistic(t, meta_.at("statistic")) - thr) / scale)));
    return p;
  }

 private:
  train::InferenceModel inf_;
  tokenizer::Tokenizer tok_;
  torch::Device device_;
  nlohmann::json meta_;
  int64_t eot_ = 0;
};

}  // namespace

std::unique_ptr<Detector> make_lm_stats_detector(const std::string&, const nlohmann::json& meta, const torch::Device& device) {
  return std::make_unique<LmStatsDetector>(meta, device);
}

nlohmann::json train_lm_stats_detector(const DetectConfig& cfg, const torch::Device& device) {
  if (cfg.checkpoint.empty()) throw UserError("detect.checkpoint: lm_stats needs the lm run to score with");
  if (cfg.val_files.empty()) throw UserError("detect.val_files: lm_stats chooses its threshold on validation texts");
  const auto val = read_detect_files(cfg.val_files);
  train::InferenceModel inf = train::load_for_inference(cfg.checkpoint, device);
  tokenizer::Tokenizer tok = train::load_tokenizer(inf);
  auto eot = tok.special_id("<|endoftext|>");
  if (!eot) throw_user_error(inf.tokenizer_path, "has no <|endoftext|> token to start texts with");
  const LmStatsConfig& c = cfg.lm_stats;
  auto stats = lm_text_stats(inf.model, tok, *eot, val, c.max_tokens, c.batch_size, device);
  std::vector<double> s;
  std::vector<int> y;
  for (size_t i = 0; i < val.size(); ++i) s.push_back(statistic(stats[i], c.statistic)), y.push_back(val[i].label);
  const Threshold t = best_threshold(s, y);
  return {{"checkpoint", cfg.checkpoint}, {"statistic", c.statistic}, {"max_tokens", c.max_tokens},
          {"batch_size", c.batch_size}, {"sign", t.sign}, {"threshold", t.threshold}, {"scale", t.scale},
          {"val_acc", t.val_acc}, {"val_texts", val.size()}, {"params", inf.model->total_params() + 2}};
}

}  // namespace lmlab::detect
