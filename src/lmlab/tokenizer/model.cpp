// Model helpers: vocabulary size and the Scaffold-BPE demolish table (Algorithm 2, line 13).
#include "lmlab/tokenizer/model.h"

#include <algorithm>
#include <functional>

namespace lmlab::tokenizer {

uint32_t Model::vocab_size() const {
  uint32_t size = 0;
  for (uint32_t id = 0; id < tokens.size(); ++id)
    if (!is_scaffold(id) && !tokens[id].empty()) size = id + 1;
  for (const auto& [content, id] : specials) size = std::max(size, id + 1);
  return size;
}

size_t Model::scaffold_size() const {
  size_t n = 0;
  for (uint8_t s : scaffold) n += s;
  return n;
}

std::vector<std::vector<uint32_t>> demolish_table(const Model& model) {
  std::vector<std::vector<uint32_t>> table(model.tokens.size());
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> parents(model.tokens.size());
  for (const Merge& m : model.merges) parents[m.result].push_back({m.left, m.right});
  std::vector<uint8_t> done(model.tokens.size(), 0);
  // Parents are strictly shorter strings than their result, so the recursion terminates.
  std::function<const std::vector<uint32_t>&(uint32_t)> solve = [&](uint32_t id) -> const std::vector<uint32_t>& {
    if (done[id]) return table[id];
    if (!model.is_scaffold(id) || parents[id].empty()) {
      table[id] = {id};
    } else {
      std::vector<uint32_t> best;
      for (auto [a, b] : parents[id]) {
        std::vector<uint32_t> cand = solve(a);
        const auto& right = solve(b);
        cand.insert(cand.end(), right.begin(), right.end());
        if (best.empty() || cand.size() < best.size() || (cand.size() == best.size() && cand < best))
          best = std::move(cand);
      }
      table[id] = std::move(best);
    }
    done[id] = 1;
    return table[id];
  };
  for (uint32_t id = 0; id < model.tokens.size(); ++id) solve(id);
  return table;
}

}  // namespace lmlab::tokenizer
