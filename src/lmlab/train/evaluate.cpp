// The windowed-loss loop and the per-position validation loss (formula in evaluate.h).
#include "lmlab/train/evaluate.h"

#include "lmlab/data/loader.h"

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

EvalResult evaluate_windows(const data::TokenShard& val, int64_t seq_len, int64_t windows, int64_t rank,
                            int64_t world_size, int64_t batch_size, const torch::Device& device,
                            const std::function<torch::Tensor(const torch::Tensor&)>& logits_of,
                            const std::function<void(std::vector<torch::Tensor>&)>& all_reduce_sum) {
  std::vector<int64_t> starts = data::eval_window_starts(val, seq_len, windows, rank, world_size);
  torch::Tensor sum = torch::zeros({seq_len}, torch::TensorOptions().dtype(torch::kFloat64).device(device));  // (T)
  for_each_window_nll(val, starts, seq_len, batch_size, device, logits_of,
                      [&](const torch::Tensor&, const torch::Tensor& nll) { sum += nll.sum(0); });
  std::vector<torch::Tensor> totals = {sum, torch::tensor({static_cast<double>(starts.size())},
                                                          torch::TensorOptions().dtype(torch::kFloat64).device(device))};
  all_reduce_sum(totals);
  EvalResult r;
  r.windows = static_cast<int64_t>(totals[1].item<double>());
  torch::Tensor mean = (totals[0] / std::max<double>(1, r.windows)).cpu();
  r.position_loss.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + seq_len);
  r.loss = mean.mean().item<double>();
  return r;
}

}  // namespace lmlab::train
