// UniAttn's SuperBlock layout (see attention_config.h).
#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/model/attention_config.h"

namespace lmlab {

std::vector<UnifyRole> unify_roles(const AttentionConfig& a, int64_t n_layer) {
  const int64_t g = a.unify_group, b = a.unify_begin;
  std::vector<UnifyRole> roles(static_cast<size_t>(n_layer), UnifyRole::kPlain);
  auto fail = [](const std::string& key, const std::string& problem) {
    throw UserError("model.attention." + key + ": " + problem);
  };
  if (g < 1) fail("unify_group", "must be >= 1, not " + std::to_string(g));
  if (g == 1) return roles;
  if (b < 0 || b >= n_layer)
    fail("unify_begin", std::to_string(b) + " is not a layer of this " + std::to_string(n_layer) + "-layer model");
  const int64_t e = a.unify_end < 0 ? n_layer : a.unify_end;
  if (e <= b) fail("unify_end", std::to_string(e) + " must be after unify_begin (" + std::to_string(b) + ")");
  const int64_t last = std::min(e, n_layer);
  if ((last - b) % g != 0) {
    const int64_t start = b + (last - b) / g * g;
    const std::string block = "SuperBlock " + std::to_string(start) + ".." + std::to_string(start + g - 1);
    if (a.unify_end < 0 || e > n_layer)
      fail("unify_end", block + " runs past the last layer (" + std::to_string(n_layer - 1) + ")");
    fail("unify_end", block + " is cut at layer " + std::to_string(e) + ": layers " + std::to_string(b) + ".." +
                          std::to_string(e - 1) + " must be whole SuperBlocks of " + std::to_string(g));
  }
  for (int64_t i = b; i < last; ++i) roles[static_cast<size_t>(i)] = (i - b) % g == 0 ? UnifyRole::kFirst : UnifyRole::kReuse;
  return roles;
}

}  // namespace lmlab
