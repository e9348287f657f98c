// Registers the MoE family's FFN blocks (issue #5). Empty until the family lands.
#include "lmlab/model/ffn.h"

namespace lmlab::model {

void register_moe_ffns(FfnRegistry&) {}

}  // namespace lmlab::model
