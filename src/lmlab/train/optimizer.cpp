// AdamW with decay / no-decay groups (update rule in optimizer.h).
#include "lmlab/train/optimizer.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <map>

#include "lmlab/common/error.h"
#include "lmlab/train/adamw_kernel.h"

namespace lmlab::train {

AdamW::AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_params, const TrainConfig& cfg)
    : beta1_(cfg.beta1), beta2_(cfg.beta2), eps_(cfg.eps), weight_decay_(cfg.weight_decay) {
  for (const auto& [name, p] : named_params) {
    if (!p.requires_grad()) continue;
    names_.push_back(name);
    params_.push_back(p);
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    // Norm gains and biases are 1-D; decaying them toward 0 only hurts (GPT-2/3, LLaMA practice).
    decay_.push_back(p.dim() >= 2);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

namespace {

// One fused pass per tensor, split over the intra-op threads.
void adamw_update(float* p, const float* g, float* m, float* v, int64_t n, const AdamWCoefficients& c) {
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) { adamw_elements(p, g, m, v, begin, end, c); });
}

}  // namespace

void AdamW::step(double lr, double grad_scale) {
  torch::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(beta1_, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(beta2_, static_cast<double>(t_));
  AdamWCoefficients c{static_cast<float>(grad_scale), 1.0f, static_cast<float>(beta1_),
                      static_cast<float>(1.0 - beta1_), static_cast<float>(beta2_), static_cast<float>(1.0 - beta2_),
                      static_cast<float>(std::sqrt(bc2)), static_cast<float>(eps_), static_cast<float>(-lr / bc1)};
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    torch::Tensor g = p.grad();
    c.decay = decay_[i] && weight_decay_ != 0 ? static_cast<float>(1.0 - lr * weight_decay_) : 1.0f;
    const bool fused = p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.is_contiguous() &&
                       g.scalar_type() == torch::kFloat32 && g.is_contiguous() && exp_avg_[i].is_contiguous() &&
                       exp_avg_sq_[i].is_contiguous();
    if (fused) {
      adamw_update(p.data_ptr<float>(), g.data_ptr<float>(), exp_avg_[i].data_ptr<float>(),
                   exp_avg_sq_[i].data_ptr<float>(), p.numel(), c);
      continue;
    }
    // CUDA and other layouts: the same update op by op.
    if (grad_scale != 1.0) g = g * grad_scale;
    if (c.decay != 1.0f) p.mul_(1.0 - lr * weight_decay_);
    exp_avg_[i].mul_(beta1_).add_(g, 1.0 - beta1_);
    exp_avg_sq_[i].mul_(beta2_).addcmul_(g, g, 1.0 - beta2_);
    torch::Tensor denom = (exp_avg_sq_[i].sqrt() / std::sqrt(bc2)).add_(eps_);
    p.addcdiv_(exp_avg_[i], denom, -lr / bc1);
  }
}

model::NamedTensors AdamW::state() const {
  model::NamedTensors out;
  out.emplace_back("step", torch::tensor(t_, torch::kInt64));
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(names_[i] + ".exp_avg", exp_avg_[i]);
    out.emplace_back(names_[i] + ".exp_avg_sq", exp_avg_sq_[i]);
  }
  return out;
}

void AdamW::load(const model::NamedTensors& state, const std::string& file) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  auto get = [&](const std::string& name, const torch::Tensor& like) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw_user_error(file, "optimizer state has no '" + name + "' (a different model?)");
    if (it->second.sizes() != like.sizes())
      throw_user_error(file, "optimizer state '" + name + "' has shape " + c10::str(it->second.sizes()) +
                                 ", the model needs " + c10::str(like.sizes()));
    return it->second;
  };
  torch::NoGradGuard no_grad;
  t_ = get("step", torch::tensor(0)).item<int64_t>();
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(get(names_[i] + ".exp_avg", exp_avg_[i]));
    exp_avg_sq_[i].copy_(get(names_[i] + ".exp_avg_sq", exp_avg_sq_[i]));
  }
}

double global_grad_norm(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat32).norm().pow(2));
  if (norms.empty()) return 0.0;
  return torch::stack(norms).sum().sqrt().item<double>();
}

double clip_scale(double norm, double max_norm) { return max_norm > 0 && norm > max_norm ? max_norm / (norm + 1e-6) : 1.0; }

}  // namespace lmlab::train
