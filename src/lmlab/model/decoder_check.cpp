#include "lmlab/model/decoder_check.h"

#include <string>

#include "lmlab/common/error.h"

namespace lmlab::model {

void check_decoder_shape(const ModelConfig& c) {
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.arch != "llama" && c.arch != "gpt2") fail("arch must be \"llama\" or \"gpt2\", not \"" + c.arch + "\"");
  if (c.vocab_size <= 0) fail("vocab_size must be > 0 (0 is only allowed when the trainer fills it in)");
  if (c.n_layer <= 0 || c.n_head <= 0 || c.d_model <= 0 || c.max_seq_len <= 0)
    fail("n_layer, n_head, d_model and max_seq_len must be > 0");
  if (c.d_model % c.n_head != 0)
    fail("d_model (" + std::to_string(c.d_model) + ") must be divisible by n_head (" + std::to_string(c.n_head) + ")");
  if (c.n_kv_head < 0 || c.n_head % c.kv_heads() != 0)
    fail("n_head (" + std::to_string(c.n_head) + ") must be a multiple of n_kv_head (" + std::to_string(c.n_kv_head) + ")");
  if (c.arch == "llama" && c.head_dim() % 2 != 0)
    fail("RoPE needs an even head dimension, d_model / n_head = " + std::to_string(c.head_dim()));
  if (c.dropout < 0 || c.dropout >= 1) fail("dropout must be in [0, 1)");
}

}  // namespace lmlab::model
