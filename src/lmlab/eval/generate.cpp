// Sampling and the generation loop (see generate.h).
#include "lmlab/eval/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <vector>

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

namespace {

// Rows that produced the stop token, kept on the host: the loop reads the new ids there once per
// step anyway (the end test), and host bookkeeping costs no tensor ops.
class StopRows {
 public:
  StopRows(int64_t rows, int64_t stop_token) : stop_(stop_token), stopped_(static_cast<size_t>(rows), 0) {}
  // next: (B,) ids; rows that stopped before get the stop token again. Returns `next` (updated).
  torch::Tensor apply(torch::Tensor next) {
    if (stop_ < 0) return next;
    torch::Tensor host = next.is_cpu() ? next : next.cpu();
    const int64_t* ids = host.data_ptr<int64_t>();
    bool changed = false;
    for (size_t b = 0; b < stopped_.size(); ++b) changed |= stopped_[b] && ids[b] != stop_;
    if (changed) {  // rare: only once some rows stopped before others
      auto mask = torch::tensor(std::vector<int64_t>(stopped_.begin(), stopped_.end())).to(torch::kBool);
      next = next.masked_fill(mask.to(next.device()), stop_);
      host = next.is_cpu() ? next : next.cpu();
      ids = host.data_ptr<int64_t>();
    }
    for (size_t b = 0; b < stopped_.size(); ++b) stopped_[b] = stopped_[b] || ids[b] == stop_;
    return next;
  }
  bool all() const {
    return stop_ >= 0 && std::all_of(stopped_.begin(), stopped_.end(), [](char s) { return s != 0; });
  }

 private:
  int64_t stop_;
  std::vector<char> stopped_;
};

// The loop of generate(), under InferenceMode: returns (B, T0 + n) as an inference tensor.
torch::Tensor generate_tokens(model::TransformerImpl& model, const torch::Tensor& prompt, const GenerateOptions& opts,
                              torch::Generator& gen, const std::function<void(int64_t, const torch::Tensor&)>& on_token) {
  const int64_t B = prompt.size(0), T0 = prompt.size(1), window = model.config().max_seq_len;
  // Every token in one preallocated (B, T0 + max_new_tokens) tensor: no growing copy per step.
  auto out = torch::empty({B, T0 + opts.max_new_tokens}, prompt.options());
  out.narrow(1, 0, T0).copy_(prompt);
  // Until the sequence outgrows the window, the cache holds every token fed; after that every
  // position changes at each step, so the window is recomputed from scratch and no cache kept.
  model::KVCache cache;
  auto logits = T0 < window ? model.next_token_logits(prompt, &cache)  // (B, V)
                            : model.next_token_logits(prompt.narrow(1, T0 - window, window), nullptr);
  StopRows stop(B, opts.stop_token);
  int64_t length = T0;
  for (int64_t step = 0; step < opts.max_new_tokens; ++step) {
    auto next = stop.apply(sample_next(logits, opts.sampling, gen));  // (B,)
    out.select(1, length).copy_(next);
    ++length;
    if (on_token) on_token(step, next);
    if (step + 1 == opts.max_new_tokens || stop.all()) break;
    if (length <= window) {
      logits = model.next_token_logits(next.view({B, 1}), &cache);
    } else {  // slide the window: positions change, so it is recomputed
      logits = model.next_token_logits(out.narrow(1, length - window, window), nullptr);
    }
  }
  return out.narrow(1, 0, length);
}

}  // namespace

torch::Tensor generate(model::TransformerImpl& model, const torch::Tensor& prompt, const GenerateOptions& opts,
                       torch::Generator& gen, const std::function<void(int64_t, const torch::Tensor&)>& on_token) {
  // Dropout off while generating; the caller's mode is restored afterwards.
  struct EvalMode {
    model::TransformerImpl& m;
    bool was_training;
    ~EvalMode() { m.train(was_training); }
  } mode{model, model.is_training()};
  model.eval();
  torch::Tensor tokens;
  {
    // InferenceMode rather than NoGradGuard: no version counters or autograd keys on any op.
    c10::InferenceMode inference;
    tokens = generate_tokens(model, prompt, opts, gen, on_token);
  }
  return tokens.clone();  // a normal tensor: the caller may use it where inference tensors are refused
}

}  // namespace lmlab::eval
