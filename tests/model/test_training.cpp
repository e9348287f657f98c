// The model learns: gradients equal finite differences, and a tiny model memorises a batch.
#include <gtest/gtest.h>

#include "lmlab/model/transformer.h"

using namespace lmlab;
using namespace lmlab::model;

namespace {

ModelConfig tiny(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.n_layer = 2;
  c.n_head = 2;
  c.d_model = 16;
  c.vocab_size = 11;
  c.max_seq_len = 16;
  c.bias = arch == "gpt2";
  c.tie_embeddings = arch == "gpt2";  // cover both head variants
  return c;
}

torch::Tensor loss_of(Transformer& model, const torch::Tensor& idx, const torch::Tensor& targets) {
  auto logits = model->forward(idx);
  return torch::nn::functional::cross_entropy(logits.view({-1, logits.size(-1)}), targets.reshape({-1}));
}

}  // namespace

TEST(Training, GradientsEqualFiniteDifferencesInDouble) {
  for (const std::string arch : {"llama", "gpt2"}) {
    torch::manual_seed(0);
    Transformer model(tiny(arch));
    model->to(torch::kFloat64);
    auto idx = torch::randint(11, {2, 6}, torch::kInt64), targets = torch::randint(11, {2, 6}, torch::kInt64);
    loss_of(model, idx, targets).backward();
    torch::NoGradGuard no_grad;
    int checked = 0;
    for (auto& p : model->named_parameters()) {
      auto flat = p.value().view({-1});
      auto grad = p.value().grad().view({-1});
      for (int64_t i : {int64_t{0}, flat.numel() / 2, flat.numel() - 1}) {  // a few entries of every parameter
        double saved = flat[i].item<double>(), eps = 1e-6;
        flat[i] = saved + eps;
        double up = loss_of(model, idx, targets).item<double>();
        flat[i] = saved - eps;
        double down = loss_of(model, idx, targets).item<double>();
        flat[i] = saved;
        double numeric = (up - down) / (2 * eps), analytic = grad[i].item<double>();
        EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-5 * std::abs(numeric)) << arch << " " << p.key() << "[" << i << "]";
        ++checked;
      }
    }
    EXPECT_GT(checked, 30);
  }
}

TEST(Training, TinyModelOverfitsAFixedBatch) {
  for (const std::string arch : {"llama", "gpt2"}) {
    torch::manual_seed(0);
    auto cfg = tiny(arch);
    cfg.d_model = 32;
    Transformer model(cfg);
    auto data = torch::randint(11, {4, 13}, torch::kInt64);
    using torch::indexing::Slice;
    auto idx = data.index({Slice(), Slice(0, 12)}), targets = data.index({Slice(), Slice(1, 13)});
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
      opt.zero_grad();
      auto loss = loss_of(model, idx, targets);
      loss.backward();
      opt.step();
      (step == 0 ? first : last) = loss.item<double>();
    }
    EXPECT_GT(first, 2.0) << arch;  // ~ln(11) at init
    EXPECT_LT(last, 0.1) << arch;
  }
}
