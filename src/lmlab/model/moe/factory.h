// Builds the MoE family's blocks from [model.ffn] (used by registry.cpp, tests and bench).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "lmlab/model/ffn.h"

namespace lmlab::model::moe {

// The registry names of the family: moe, hash_moe, topp_moe, mask_moe, cartesian_moe, dsmoe, finedeep.
const std::vector<std::string>& moe_types();

// The block of `type` for `layer`; nullptr when the placement ([model.ffn] moe_layers) makes
// this layer dense. UserError on inconsistent keys.
std::shared_ptr<FfnBlockImpl> make_moe_block(const std::string& type, const ModelConfig& cfg, int64_t layer);

}  // namespace lmlab::model::moe
