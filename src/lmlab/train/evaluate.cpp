// The windowed-loss loop and the per-position validation loss (formula in evaluate.h).
#include "lmlab/train/evaluate.h"

#include "lmlab/common/error.h"
#include "lmlab/data/loader.h"
#include "lmlab/train/doc_windows.h"

namespace lmlab::train {

void for_each_window_nll(const data::TokenShard& shard, const std::vector<int64_t>& starts, int64_t seq_len,
                         int64_t batch_size, const torch::Device& device, const LogitsFn& logits_of,
                         const WindowNllFn& on_batch) {
  torch::NoGradGuard no_grad;
  for (size_t b = 0; b < starts.size(); b += static_cast<size_t>(batch_size)) {
    std::vector<int64_t> chunk(starts.begin() + b, starts.begin() + std::min(starts.size(), b + batch_size));
    data::Batch batch = data::windows_at(shard, chunk, seq_len);
    torch::Tensor x = batch.x.to(device), y = batch.y.to(device);  // (B, T)
    torch::Tensor logits = logits_of(x).to(torch::kFloat32);       // (B, T, V)
    const int64_t B = x.size(0), V = logits.size(-1);
    torch::Tensor nll = torch::nn::functional::cross_entropy(
        logits.reshape({B * seq_len, V}), y.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (B*T)
    on_batch(batch.y, nll.reshape({B, seq_len}).to(torch::kFloat64));
  }
}

EvalResult evaluate_window_set(const data::TokenShard& val, int64_t seq_len, const EvalWindows& windows,
                               int64_t batch_size, const torch::Device& device, const LogitsFn& logits_of,
                               const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum) {
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor sum = torch::zeros({seq_len}, f64), sum_sq = torch::zeros({seq_len}, f64);  // (T)
  torch::Tensor count = torch::zeros({seq_len}, f64);                                       // (T)
  for_each_window_nll(val, windows.starts, seq_len, batch_size, device, logits_of,
                      [&](const torch::Tensor& targets, const torch::Tensor& nll) {
                        torch::Tensor keep = windows.mask_after_eot >= 0
                                                 ? first_document_mask(targets, windows.mask_after_eot)
                                                 : torch::ones_like(targets, torch::kBool);
                        torch::Tensor w = keep.to(f64);  // (B, T)
                        sum += (nll * w).sum(0);
                        sum_sq += (nll * nll * w).sum(0);
                        count += w.sum(0);
                      });
  std::vector<torch::Tensor> totals = {sum, sum_sq, count,
                                       torch::tensor({static_cast<double>(windows.starts.size())}, f64)};
  all_reduce_sum(totals);
  EvalResult r;
  r.windows = static_cast<int64_t>(totals[3].item<double>());
  torch::Tensor n = totals[2].cpu(), mean = (totals[0].cpu() / n.clamp_min(1));                 // (T)
  torch::Tensor var = (totals[1].cpu() - n * mean * mean).clamp_min(0) / (n - 1).clamp_min(1);  // (T)
  torch::Tensor se = (var / n.clamp_min(1)).sqrt();
  for (int64_t i = 0; i < seq_len; ++i) {
    if (n[i].item<double>() == 0)
      throw_user_error(val.path(), "no validation window keeps position " + std::to_string(i) +
                                       ": every evaluated document is shorter (use more eval.windows or a smaller data.seq_len)");
  }
  r.position_loss.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + seq_len);
  r.position_se.assign(se.data_ptr<double>(), se.data_ptr<double>() + seq_len);
  for (int64_t i = 0; i < seq_len; ++i) r.position_count.push_back(static_cast<int64_t>(n[i].item<double>()));
  r.loss = mean.mean().item<double>();
  return r;
}

EvalResult evaluate_windows(const data::TokenShard& val, int64_t seq_len, int64_t windows, int64_t rank,
                            int64_t world_size, int64_t batch_size, const torch::Device& device,
                            const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                            const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum) {
  EvalWindows w{data::eval_window_starts(val, seq_len, windows, rank, world_size), -1};
  return evaluate_window_set(val, seq_len, w, batch_size, device, logits_of, all_reduce_sum);
}

}  // namespace lmlab::train
