// Batched, padded, masked scoring of token requests on a causal LM (layout in the header).
#include "lmlab/eval/causal_lm_scorer.h"

#include <algorithm>
#include <numeric>

#include "lmlab/common/error.h"
#include "lmlab/common/progress.h"

namespace lmlab::eval {

CausalLmScorer::CausalLmScorer(Forward forward, int64_t max_length, torch::Device device, int64_t batch_size)
    : forward_(std::move(forward)), max_length_(max_length), batch_size_(std::max<int64_t>(batch_size, 1)), device_(device) {
  if (max_length_ < 1) throw UserError("the model's context length must be positive");
}

std::vector<TokenScores> CausalLmScorer::score(const std::vector<TokenRequest>& requests) {
  struct Row {
    std::vector<int64_t> input;  // what the model reads
    int64_t n_cont;              // the last n_cont positions predict the continuation
  };
  std::vector<Row> rows(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const TokenRequest& r = requests[i];
    if (r.context.empty() || r.continuation.empty()) throw std::invalid_argument("empty context or continuation");
    if (static_cast<int64_t>(r.continuation.size()) > max_length_)
      throw UserError("a continuation of " + std::to_string(r.continuation.size()) +
                      " tokens is longer than the model's context (" + std::to_string(max_length_) + ")");
    std::vector<int64_t> whole(r.context.begin(), r.context.end());
    whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
    const size_t keep = std::min<size_t>(whole.size(), static_cast<size_t>(max_length_) + 1);
    rows[i].input.assign(whole.end() - static_cast<std::ptrdiff_t>(keep), whole.end() - 1);
    rows[i].n_cont = static_cast<int64_t>(r.continuation.size());
  }
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rows[a].input.size() > rows[b].input.size(); });

  std::vector<TokenScores> out(requests.size());
  torch::NoGradGuard no_grad;
  Progress progress(label_, static_cast<int64_t>(requests.size()), "req");
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
    const int64_t B = static_cast<int64_t>(end - start), T = static_cast<int64_t>(rows[order[start]].input.size());
    torch::Tensor idx = torch::zeros({B, T}, torch::kLong);      // (B, T), right-padded with 0
    torch::Tensor targets = torch::zeros({B, T}, torch::kLong);  // (B, T): token predicted at each position
    auto idx_a = idx.accessor<int64_t, 2>();
    auto tgt_a = targets.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const Row& row = rows[order[start + static_cast<size_t>(b)]];
      const TokenRequest& req = requests[order[start + static_cast<size_t>(b)]];
      const int64_t len = static_cast<int64_t>(row.input.size());
      for (int64_t t = 0; t < len; ++t) idx_a[b][t] = row.input[static_cast<size_t>(t)];
      for (int64_t j = 0; j < row.n_cont; ++j) tgt_a[b][len - row.n_cont + j] = req.continuation[static_cast<size_t>(j)];
    }
    torch::Tensor logits = forward_(idx.to(device_)).to(torch::kFloat);                   // (B, T, V)
    torch::Tensor logp = torch::log_softmax(logits, -1);                                  // (B, T, V)
    torch::Tensor tgt = targets.to(device_);
    torch::Tensor picked = logp.gather(2, tgt.unsqueeze(-1)).squeeze(-1).to(torch::kDouble).cpu();  // (B, T)
    torch::Tensor is_greedy = logits.argmax(-1).eq(tgt).cpu();                                    // (B, T)
    auto picked_a = picked.accessor<double, 2>();
    auto greedy_a = is_greedy.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const size_t i = order[start + static_cast<size_t>(b)];
      const int64_t len = static_cast<int64_t>(rows[i].input.size());
      TokenScores& s = out[i];
      s.greedy = true;
      for (int64_t t = len - rows[i].n_cont; t < len; ++t) {  // the mask: only continuation positions
        s.logprobs.push_back(picked_a[b][t]);
        s.greedy = s.greedy && greedy_a[b][t];
      }
    }
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();
  return out;
}

}  // namespace lmlab::eval
