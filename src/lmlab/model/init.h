// Weight initialisation shared by the transformer and every FFN block (dense and MoE), so a
// config's init_std means the same thing everywhere (GPT-2 / nanoGPT scheme):
//   weight matrices and embeddings ~ N(0, init_std^2), biases = 0, norm gains = 1;
//   projections INTO the residual stream (attn.wo, ffn.w2) ~ N(0, (init_std / sqrt(2 n_layer))^2)
//   when scaled_residual_init, so the residual stream's variance does not grow with depth
//   (each block adds two such branches; GPT-2 paper, section 2.3).
// The rule is the same for every FFN type (issue #19): the dense FFN's w1/w3, every expert's
// w_gate/w_up, routers, gates and the shared-expert coefficient gate ~ N(0, init_std^2); the
// dense w2, every expert's w_down (routed, shared, DSMoE's w2, Finedeep's) ~ N(0, residual^2).
// So an MoE and the dense model it is compared with start from the same output scale.
#pragma once
#include <torch/torch.h>

#include "lmlab/model/model_config.h"

namespace lmlab::model {

// The std of a projection into the residual stream.
double residual_init_std(const ModelConfig& cfg);

// The two stds of the rule, carried by the options of blocks built without a ModelConfig.
struct InitStds {
  double weight = 0.02;    // input projections, routers, gates
  double residual = 0.02;  // projections into the residual stream
};
InitStds init_stds(const ModelConfig& cfg);

// weight ~ N(0, std^2) and bias (when present) = 0, in place.
void init_linear(torch::nn::Linear& linear, double std);

}  // namespace lmlab::model
