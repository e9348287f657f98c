#include "lmlab/train/param_patterns.h"

#include <fnmatch.h>

#include <algorithm>

#include "lmlab/common/error.h"

namespace lmlab::train {

std::vector<std::string> parameters_matching(const std::vector<std::string>& names,
                                             const std::vector<std::string>& patterns, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& pattern : patterns) {
    bool any = false;
    for (const auto& n : names)
      if (fnmatch(pattern.c_str(), n.c_str(), 0) == 0) {
        any = true;
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
      }
    if (!any) throw UserError(key + ": pattern '" + pattern + "' matches no parameter" + did_you_mean(pattern, names));
  }
  return out;
}

}  // namespace lmlab::train
