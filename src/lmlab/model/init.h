// Weight initialisation shared by the transformer and every FFN block (dense and MoE), so a
// config's init_std means the same thing everywhere (GPT-2 / nanoGPT scheme):
//   weight matrices and embeddings ~ N(0, init_std^2), biases = 0, norm gains = 1;
//   projections INTO the residual stream (attn.wo, ffn.w2) ~ N(0, (init_std / sqrt(2 n_layer))^2)
//   when scaled_residual_init, so the residual stream's variance does not grow with depth
//   (each block adds two such branches; GPT-2 paper, section 2.3).
#pragma once
#include <torch/torch.h>

#include "lmlab/model/model_config.h"

namespace lmlab::model {

// The std of a projection into the residual stream.
double residual_init_std(const ModelConfig& cfg);

// weight ~ N(0, std^2) and bias (when present) = 0, in place.
void init_linear(torch::nn::Linear& linear, double std);

}  // namespace lmlab::model
