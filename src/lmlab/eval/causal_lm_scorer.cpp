// Batched, padded, masked scoring of token requests on a causal LM (layout in the header).
#include "lmlab/eval/causal_lm_scorer.h"

#include <algorithm>
#include <iostream>
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
    std::vector<int64_t> input;                 // what the model reads
    std::vector<uint32_t> targets;              // the last targets.size() positions predict these
    size_t request;                             // which request the row scores part of
  };
  // A continuation longer than the context is scored in pieces of at most max_length tokens,
  // each read in one window of the max_length + 1 tokens ending with it (truncated on the left),
  // as lm-eval's rolling windows do for perplexity; a short continuation is one piece.
  std::vector<Row> rows;
  int64_t too_long = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const TokenRequest& r = requests[i];
    if (r.context.empty() || r.continuation.empty()) throw std::invalid_argument("empty context or continuation");
    too_long += static_cast<int64_t>(r.continuation.size()) > max_length_;
    std::vector<int64_t> whole(r.context.begin(), r.context.end());
    whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
    for (size_t from = 0; from < r.continuation.size(); from += static_cast<size_t>(max_length_)) {
      const size_t to = std::min(r.continuation.size(), from + static_cast<size_t>(max_length_));
      const size_t stop = r.context.size() + to;  // `whole` up to the piece's last token
      const size_t keep = std::min<size_t>(stop, static_cast<size_t>(max_length_) + 1);
      Row row;
      row.input.assign(whole.begin() + static_cast<std::ptrdiff_t>(stop - keep),
                       whole.begin() + static_cast<std::ptrdiff_t>(stop) - 1);
      row.targets.assign(r.continuation.begin() + static_cast<std::ptrdiff_t>(from),
                         r.continuation.begin() + static_cast<std::ptrdiff_t>(to));
      row.request = i;
      rows.push_back(std::move(row));
    }
  }
  if (too_long > 0)
    std::cerr << "lmlab: warning: " << label_ << ": " << too_long << " of " << requests.size()
              << " continuations are longer than the context window (" << max_length_
              << " tokens); lm-eval cannot score them, lmlab scores them in pieces\n";
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rows[a].input.size() > rows[b].input.size(); });

  std::vector<TokenScores> row_scores(rows.size());  // per row, assembled per request at the end
  torch::NoGradGuard no_grad;
  Progress progress(label_, static_cast<int64_t>(rows.size()), "req");
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size_));
    const int64_t B = static_cast<int64_t>(end - start), T = static_cast<int64_t>(rows[order[start]].input.size());
    torch::Tensor idx = torch::zeros({B, T}, torch::kLong);      // (B, T), right-padded with 0
    torch::Tensor targets = torch::zeros({B, T}, torch::kLong);  // (B, T): token predicted at each position
    auto idx_a = idx.accessor<int64_t, 2>();
    auto tgt_a = targets.accessor<int64_t, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const Row& row = rows[order[start + static_cast<size_t>(b)]];
      const int64_t len = static_cast<int64_t>(row.input.size()), n = static_cast<int64_t>(row.targets.size());
      for (int64_t t = 0; t < len; ++t) idx_a[b][t] = row.input[static_cast<size_t>(t)];
      for (int64_t j = 0; j < n; ++j) tgt_a[b][len - n + j] = row.targets[static_cast<size_t>(j)];
    }
    torch::Tensor logits = forward_(idx.to(device_)).to(torch::kFloat);                   // (B, T, V)
    torch::Tensor logp = torch::log_softmax(logits, -1);                                  // (B, T, V)
    torch::Tensor tgt = targets.to(device_);
    torch::Tensor picked = logp.gather(2, tgt.unsqueeze(-1)).squeeze(-1).to(torch::kDouble).cpu();  // (B, T)
    torch::Tensor is_greedy = logits.argmax(-1).eq(tgt).cpu();                                    // (B, T)
    auto picked_a = picked.accessor<double, 2>();
    auto greedy_a = is_greedy.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b) {
      const size_t r = order[start + static_cast<size_t>(b)];
      const int64_t len = static_cast<int64_t>(rows[r].input.size());
      TokenScores& s = row_scores[r];
      s.greedy = true;
      for (int64_t t = len - static_cast<int64_t>(rows[r].targets.size()); t < len; ++t) {  // continuation only
        s.logprobs.push_back(picked_a[b][t]);
        s.greedy = s.greedy && greedy_a[b][t];
      }
    }
    progress.update(static_cast<int64_t>(end));
  }
  progress.finish();
  // Rows were made in request order, pieces in continuation order.
  std::vector<TokenScores> out(requests.size(), TokenScores{{}, true});
  for (size_t r = 0; r < rows.size(); ++r) {
    TokenScores& s = out[rows[r].request];
    s.logprobs.insert(s.logprobs.end(), row_scores[r].logprobs.begin(), row_scores[r].logprobs.end());
    s.greedy = s.greedy && row_scores[r].greedy;
  }
  return out;
}

}  // namespace lmlab::eval
