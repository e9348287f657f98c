#include "lmlab/train/tasks/labelled_eval.h"

#include <algorithm>
#include <filesystem>

#include "lmlab/train/autocast.h"
#include "lmlab/train/tasks/class_metrics.h"

namespace lmlab::train {

namespace {

struct FileScore {
  torch::Tensor probs;  // (N, C) float64, summed over ranks
  double loss = 0;      // mean CE
};

FileScore score_file(const LabelledSet& set, int64_t n_classes, int64_t batch_size, const EncoderSpecials& sp,
                     TaskEnv& env, const BatchLogitsFn& logits_of) {
  const int64_t N = set.size();
  torch::Tensor probs = torch::zeros({N, n_classes}, torch::TensorOptions().dtype(torch::kFloat64).device(env.device));
  torch::Tensor nll = torch::zeros({1}, probs.options());
  std::vector<int64_t> mine;
  for (int64_t k = env.rank; k < N; k += env.world_size) mine.push_back(k);
  const auto B = static_cast<size_t>(std::max<int64_t>(1, batch_size));
  for (size_t b = 0; b < mine.size(); b += B) {
    std::vector<int64_t> idx(mine.begin() + b, mine.begin() + std::min(mine.size(), b + B));
    data::NamedBatch batch = set.batch(idx, sp).to(env.device);
    torch::Tensor logits;
    {
      Autocast ac(env.bf16);
      logits = logits_of(batch).to(torch::kFloat32);  // (B, C)
    }
    probs.index_copy_(0, torch::tensor(idx, torch::kInt64).to(env.device), torch::softmax(logits, 1).to(torch::kFloat64));
    nll += torch::nn::functional::cross_entropy(logits, batch.at("label"),
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
               .to(torch::kFloat64);
  }
  std::vector<torch::Tensor> totals = {probs, nll};
  env.all_reduce_sum(totals);
  return {totals[0].cpu(), totals[1].item<double>() / static_cast<double>(N)};
}

}  // namespace

nlohmann::json evaluate_labelled_sets(const std::vector<LabelledSet>& sets, int64_t n_classes, int64_t batch_size,
                                      const EncoderSpecials& sp, TaskEnv& env, const BatchLogitsFn& logits_of) {
  torch::NoGradGuard no_grad;
  nlohmann::json per_file = nlohmann::json::object();
  double loss_sum = 0, correct = 0, records = 0;
  for (size_t f = 0; f < sets.size(); ++f) {
    const LabelledSet& set = sets[f];
    const FileScore s = score_file(set, n_classes, batch_size, sp, env, logits_of);
    nlohmann::json m = classification_metrics(s.probs, set.labels, s.loss);
    std::string name = std::filesystem::path(set.path).filename().string();
    if (per_file.contains(name)) name = std::to_string(f) + ":" + name;
    per_file[name] = m;
    const auto N = static_cast<double>(set.size());
    loss_sum += s.loss * N;
    correct += m["acc"].get<double>() * N;
    records += N;
  }
  return {{"val_loss", loss_sum / records}, {"acc", correct / records}, {"files", per_file}};
}

}  // namespace lmlab::train
