// Sampling and the generation loop (see generate.h).
#include "lmlab/eval/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

namespace lmlab::eval {

namespace {
const double kNegInf = -std::numeric_limits<double>::infinity();
}

torch::Tensor mask_top_k(const torch::Tensor& logits, int64_t k) {
  if (k <= 0 || k >= logits.size(-1)) return logits;
  auto keep = torch::zeros_like(logits, torch::kBool).scatter_(-1, std::get<1>(logits.topk(k, -1)), true);
  return logits.masked_fill(keep.logical_not(), kNegInf);
}

torch::Tensor mask_top_p(const torch::Tensor& logits, double p) {
  if (p >= 1.0) return logits;
  auto [sorted, order] = logits.sort(-1, /*descending=*/true);
  auto probs = torch::softmax(sorted.to(torch::kFloat64), -1);
  // A token is dropped when the tokens ranked above it already reach p.
  auto mass_before = probs.cumsum(-1) - probs;
  auto drop_sorted = mass_before >= p;
  auto drop = torch::zeros_like(drop_sorted).scatter_(-1, order, drop_sorted);
  return logits.masked_fill(drop, kNegInf);
}

torch::Tensor sample_next(const torch::Tensor& all_logits, const SamplingOptions& opts, torch::Generator& gen) {
  // The first vocab_limit ids keep their numbers, so a narrowed view draws the same ids.
  const bool narrow = opts.vocab_limit > 0 && opts.vocab_limit < all_logits.size(-1);
  const torch::Tensor logits = narrow ? all_logits.narrow(-1, 0, opts.vocab_limit) : all_logits;
  if (opts.temperature <= 0) return logits.argmax(-1);
  auto l = logits.to(torch::kFloat32) / opts.temperature;
  l = mask_top_p(mask_top_k(l, opts.top_k), opts.top_p);
  auto probs = torch::softmax(l.to(torch::kCPU, torch::kFloat64), -1);
  return torch::multinomial(probs, 1, false, gen).squeeze(-1).to(logits.device());
}

torch::Generator make_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor generate(model::TransformerImpl& model, const torch::Tensor& prompt, const GenerateOptions& opts,
                       torch::Generator& gen, const std::function<void(int64_t, const torch::Tensor&)>& on_token) {
  torch::NoGradGuard no_grad;
  // Dropout off while generating; the caller's mode is restored afterwards.
  struct EvalMode {
    model::TransformerImpl& m;
    bool was_training;
    ~EvalMode() { m.train(was_training); }
  } mode{model, model.is_training()};
  model.eval();
  int64_t window = model.config().max_seq_len;
  using torch::indexing::Slice;
  auto tokens = prompt.size(1) > window ? prompt.index({Slice(), Slice(-window, torch::indexing::None)}) : prompt;
  auto out = prompt;
  model::KVCache cache;
  auto logits = model.forward_cached(tokens, cache);  // (B, T0, V)
  auto stopped = torch::zeros({prompt.size(0)}, prompt.options().dtype(torch::kBool));
  for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
    auto next = sample_next(logits.index({Slice(), -1}), opts.sampling, gen);  // (B,)
    if (opts.stop_token >= 0) {
      next = next.masked_fill(stopped, opts.stop_token);
      stopped = stopped.logical_or(next == opts.stop_token);
    }
    out = torch::cat({out, next.unsqueeze(1)}, 1);
    if (on_token) on_token(step, next);
    if (step + 1 == opts.max_new_tokens || (opts.stop_token >= 0 && stopped.all().item<bool>())) break;
    if (cache.length() < window) {
      logits = model.forward_cached(next.unsqueeze(1), cache);
    } else {  // slide the window: positions change, so the cache is rebuilt
      cache = model::KVCache{};
      logits = model.forward_cached(out.index({Slice(), Slice(-window, torch::indexing::None)}), cache);
    }
  }
  return out;
}

}  // namespace lmlab::eval
