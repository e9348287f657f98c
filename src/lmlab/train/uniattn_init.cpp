// UniAttn's closed-form W_c (see uniattn_init.h).
#include "lmlab/train/uniattn_init.h"

#include <functional>
#include <iostream>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/data/instructions.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/model_state.h"
#include "lmlab/train/tasks/sft_examples.h"

namespace lmlab::train {

namespace {

constexpr int64_t kChunk = 32;  // calibration samples per forward

void for_chunks(const torch::Tensor& ids, const std::function<void(const torch::Tensor&)>& f) {
  for (int64_t i = 0; i < ids.size(0); i += kChunk) f(ids.slice(0, i, std::min(i + kChunk, ids.size(0))));
}

// Position-aligned means over the samples, per layer, float64 (T, C): Norm(x) into attention
// and the residual stream after it.
struct StreamMeans {
  std::vector<torch::Tensor> attn_in, post_attn;
};

StreamMeans stream_means(model::TransformerImpl& m, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  StreamMeans s;
  for_chunks(ids, [&](const torch::Tensor& chunk) {
    model::TransformerTrace t;
    m.forward_traced(chunk, t);
    for (size_t l = 0; l < t.post_attn.size(); ++l) {
      auto in = t.attn_in[l].to(torch::kFloat64).sum(0), post = t.post_attn[l].to(torch::kFloat64).sum(0);
      if (s.attn_in.size() <= l) {
        s.attn_in.push_back(in);
        s.post_attn.push_back(post);
      } else {
        s.attn_in[l] += in;
        s.post_attn[l] += post;
      }
    }
  });
  const double n = static_cast<double>(ids.size(0));
  for (auto* v : {&s.attn_in, &s.post_attn})
    for (auto& t : *v) t /= n;
  return s;
}

// Per layer: mean over samples, positions and channels of (h_unified - h_base)^2.
std::vector<double> stream_mse(model::TransformerImpl& base, model::TransformerImpl& unified, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  std::vector<double> sum;
  for_chunks(ids, [&](const torch::Tensor& chunk) {
    model::TransformerTrace tb, tu;
    base.forward_traced(chunk, tb);
    unified.forward_traced(chunk, tu);
    sum.resize(tb.post_attn.size(), 0.0);
    for (size_t l = 0; l < sum.size(); ++l)
      sum[l] += (tu.post_attn[l].to(torch::kFloat64) - tb.post_attn[l].to(torch::kFloat64)).pow(2).sum().item<double>();
  });
  const double count = static_cast<double>(ids.numel() * base.config().d_model);
  for (auto& s : sum) s /= count;
  return sum;
}

}  // namespace

torch::Tensor calibration_ids(const std::string& tokenizer_path, const std::string& data, int64_t samples,
                              int64_t seq_len, int64_t vocab_size) {
  const auto tok = tokenizer::Tokenizer::load(tokenizer_path);
  tok.check_fits_model(tokenizer_path, vocab_size, "the base checkpoint's config.toml");
  const auto eot = tok.special_id("<|endoftext|>");
  if (!eot) throw_user_error(tokenizer_path, "has no <|endoftext|> special token to pad with");
  std::vector<torch::Tensor> rows;
  for (const auto& record : data::read_instructions(data)) {
    if (static_cast<int64_t>(rows.size()) == samples) break;
    const SftText text = sft_text(record);
    std::vector<int64_t> ids;
    for (uint32_t id : tok.encode(text.prompt + text.response)) ids.push_back(id);
    ids.push_back(*eot);
    ids.resize(static_cast<size_t>(seq_len), *eot);  // cut (even inside the prompt) or pad
    rows.push_back(torch::tensor(ids, torch::kInt64));
  }
  if (rows.empty()) throw_user_error(data, "no instruction records to calibrate on");
  return torch::stack(rows);  // (N, T)
}

std::vector<CompensationFit> fit_compensation(model::TransformerImpl& base, model::TransformerImpl& unified,
                                              const torch::Tensor& ids, double rcond) {
  std::vector<int64_t> layers;
  for (int64_t l = 0; l < unified.config().n_layer; ++l)
    if (unified.block(l)->wc) layers.push_back(l);
  if (layers.empty())
    throw UserError("uniattn init: the model has no W_c (set model.attention.unify_group > 1 with share = \"softmax\")");
  torch::NoGradGuard no_grad;
  for (int64_t l : layers) unified.block(l)->wc->weight.zero_();
  const std::vector<double> mse_zero = stream_mse(base, unified, ids);
  const StreamMeans target = stream_means(base, ids);
  for (int64_t l : layers) {
    const StreamMeans now = stream_means(unified, ids);  // earlier W_c set, this one still 0
    auto X = now.attn_in[l];                                     // (T, C)
    auto residual = target.post_attn[l] - now.post_attn[l];      // (T, C): O1 - O2
    auto W = torch::linalg_pinv(X, rcond).matmul(residual);      // (C, T) x (T, C) = (C, C)
    auto& weight = unified.block(l)->wc->weight;                 // Linear: y = h W^T
    weight.copy_(W.t().to(weight.scalar_type()));
  }
  const std::vector<double> mse_fitted = stream_mse(base, unified, ids);
  std::vector<CompensationFit> fits;
  for (int64_t l : layers) fits.push_back({l, mse_zero[l], mse_fitted[l]});
  return fits;
}

std::vector<CompensationFit> run_uniattn_init(const UniattnInitOptions& o) {
  InferenceModel base = load_for_inference(o.checkpoint, torch::kCPU);
  Experiment exp = base.exp;
  config::Schema schema = config::Schema::of(exp);
  config::apply_overrides(schema, o.overrides);
  exp.model.attention.compensation = true;
  model::Transformer unified(exp.model);
  load_model_state_partial(*unified, model_state(*base.model), o.checkpoint);
  unified->eval();
  const int64_t seq_len = o.seq_len > 0 ? o.seq_len : exp.data.seq_len;
  const torch::Tensor ids = calibration_ids(base.tokenizer_path, o.data, o.samples, seq_len, base.exp.model.vocab_size);
  std::cerr << "uniattn init: " << ids.size(0) << " calibration samples of " << seq_len << " tokens\n";
  if (seq_len >= exp.model.d_model)  // docs/uniattn.md: measured 100x+ worse at T = d
    std::cerr << "uniattn init: warning: --seq-len " << seq_len << " >= d_model " << exp.model.d_model
              << ": the fit on the means is not under-determined and may not carry over to single samples; "
                 "the paper's ratio is T = d / 4\n";
  auto fits = fit_compensation(*base.model, *unified, ids, o.rcond);
  CheckpointData out;
  out.config_toml = config::to_toml(schema);
  out.model = model_state(*unified);
  out.trainer = {{"step", 0}, {"task", exp.run.task}, {"uniattn_init", {{"base", o.checkpoint}, {"data", o.data},
                                                                        {"samples", ids.size(0)}, {"seq_len", seq_len}}}};
  out.tokenizer_path = base.tokenizer_path;
  write_checkpoint(o.output, 0, out, 0);
  return fits;
}

}  // namespace lmlab::train
