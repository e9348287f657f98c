// Weight initialisation (see init.h).
#include "lmlab/model/init.h"

#include <cmath>

namespace lmlab::model {

double residual_init_std(const ModelConfig& cfg) {
  return cfg.scaled_residual_init ? cfg.init_std / std::sqrt(2.0 * static_cast<double>(cfg.n_layer)) : cfg.init_std;
}

InitStds init_stds(const ModelConfig& cfg) { return {cfg.init_std, residual_init_std(cfg)}; }

void init_linear(torch::nn::Linear& linear, double std) {
  torch::NoGradGuard no_grad;
  linear->weight.normal_(0.0, std);
  if (linear->bias.defined()) linear->bias.zero_();
}

}  // namespace lmlab::model
