// train.freeze / train.train_only: shell-style patterns (fnmatch) over parameter names, shared by
// the engine (names of the built module) and --print-params (names counted from the config).
#pragma once
#include <string>
#include <vector>

namespace lmlab::train {

// The names matching any of `patterns`, each once, in pattern order; UserError naming `key`, the
// pattern and the closest names when a pattern matches nothing.
std::vector<std::string> parameters_matching(const std::vector<std::string>& names,
                                             const std::vector<std::string>& patterns, const std::string& key);

}  // namespace lmlab::train
