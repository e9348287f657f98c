// Multi-threaded word counting: each thread pre-tokenizes whole chunks into its own hash map
// (keys are views into the corpus, so counting allocates nothing per word); maps are reduced at
// the end. The result does not depend on the number of threads.
#include "lmlab/tokenizer/corpus.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "lmlab/common/progress.h"
#include "lmlab/tokenizer/model.h"

namespace lmlab::tokenizer {

WordCounts count_words(const std::vector<std::string>& texts, const PreTokenizer& pretokenizer,
                       const std::vector<std::string>& specials, int threads) {
  threads = std::max(1, threads);
  constexpr size_t kChunkBytes = 1 << 20;
  std::vector<std::string_view> chunks;
  int64_t total = 0;
  for (const std::string& text : texts) {
    std::string_view all(text);
    std::vector<size_t> cuts = safe_cuts(all, all.size() / kChunkBytes + 1, specials);
    size_t begin = 0;
    cuts.push_back(all.size());
    for (size_t end : cuts) {
      if (end > begin) chunks.push_back(all.substr(begin, end - begin));
      begin = end;
    }
    total += static_cast<int64_t>(all.size());
  }

  using Map = std::unordered_map<std::string_view, uint64_t>;
  std::vector<Map> maps(static_cast<size_t>(threads));
  std::vector<uint64_t> text_bytes(static_cast<size_t>(threads), 0);
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  Progress progress("count words", total, "B");
  auto work = [&](size_t t) {
    Map& map = maps[t];
    map.reserve(1 << 16);
    std::vector<std::string_view> pieces;
    for (size_t c; (c = next.fetch_add(1)) < chunks.size();) {
      split_specials(chunks[c], specials, [&](std::string_view piece, int special) {
        if (special >= 0) return;
        text_bytes[t] += piece.size();
        pieces.clear();
        pretokenizer.split(piece, pieces);
        for (std::string_view w : pieces) ++map[w];
      });
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.add(static_cast<int64_t>(chunks[c].size()));
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < maps.size(); ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (size_t t = 1; t < maps.size(); ++t) {
    for (const auto& [w, c] : maps[t]) maps[0][w] += c;
    Map().swap(maps[t]);
  }

  WordCounts out;
  out.words.reserve(maps[0].size());
  for (const auto& kv : maps[0]) out.words.push_back(kv.first);
  std::sort(out.words.begin(), out.words.end());
  out.counts.reserve(out.words.size());
  for (std::string_view w : out.words) out.counts.push_back(maps[0][w]);
  for (uint64_t b : text_bytes) out.total_bytes += b;
  progress.finish(std::to_string(out.words.size()) + " distinct words");
  return out;
}

}  // namespace lmlab::tokenizer
