// Cross-entropy from a saved softmax (what and why: softmax_ce.h).
#include "lmlab/train/softmax_ce.h"

#include "lmlab/train/losses.h"

namespace lmlab::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// p[target] below this: -log p loses its digits (p is a subnormal or 0), so those rows take
// logsumexp(z) - z[target] from the logits instead. Only a badly diverged model has such rows.
constexpr double kSmallestExactProbability = 1e-30;

class SoftmaxCrossEntropy : public torch::autograd::Function<SoftmaxCrossEntropy> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets) {
    const int64_t N = logits.size(0);
    torch::Tensor probs = torch::softmax(logits, 1);                            // (N, V)
    torch::Tensor kept = targets.ne(kIgnoreIndex);                              // (N)
    torch::Tensor index = targets.masked_fill(kept.logical_not(), 0).unsqueeze(1);  // (N, 1)
    torch::Tensor nll = probs.gather(1, index).squeeze(1).log().neg_();         // (N)
    torch::Tensor tiny = nll.gt(-std::log(kSmallestExactProbability)).logical_and_(kept);  // (N)
    if (tiny.any().item<bool>()) {
      torch::Tensor rows = tiny.nonzero().squeeze(1);  // (R)
      torch::Tensor z = logits.index_select(0, rows);  // (R, V)
      nll.index_put_({rows}, torch::logsumexp(z, 1) - z.gather(1, index.index_select(0, rows)).squeeze(1));
    }
    nll.masked_fill_(kept.logical_not(), 0.0);
    const int64_t n = kept.sum().item<int64_t>();
    ctx->save_for_backward({probs, index, kept});
    ctx->saved_data["n"] = n;
    ctx->saved_data["all_kept"] = n == N;
    return nll.sum() / static_cast<double>(n);  // 0-d; NaN when every row is ignored, as libtorch
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    variable_list saved = ctx->get_saved_variables();
    torch::Tensor probs = saved[0], index = saved[1], kept = saved[2];
    const double n = static_cast<double>(ctx->saved_data["n"].toInt());
    torch::Tensor scale = grad_out[0] / n;  // 0-d
    torch::Tensor grad = probs.mul_(scale);  // (N, V), in place: p is not needed again
    grad.scatter_add_(1, index, scale.neg().expand({index.size(0), 1}).contiguous());
    if (!ctx->saved_data["all_kept"].toBool()) grad.masked_fill_(kept.logical_not().unsqueeze(1), 0.0);
    return {grad, torch::Tensor()};
  }
};

}  // namespace

bool softmax_cross_entropy_applies(const torch::Tensor& logits) {
  return logits.device().is_cpu() && logits.scalar_type() == torch::kFloat32 && logits.dim() == 2 &&
         logits.size(1) > 0;
}

torch::Tensor softmax_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  TORCH_CHECK(softmax_cross_entropy_applies(logits), "softmax_cross_entropy: logits must be (N, V) float32 on the CPU");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0) && targets.scalar_type() == torch::kInt64,
              "softmax_cross_entropy: targets must be (N) int64");
  return SoftmaxCrossEntropy::apply(logits, targets);
}

}  // namespace lmlab::train
