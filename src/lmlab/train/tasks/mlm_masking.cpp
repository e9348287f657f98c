// Whole-word masked-LM masking (rule in mlm_masking.h).
#include "lmlab/train/tasks/mlm_masking.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/losses.h"

namespace lmlab::train {

std::vector<bool> word_starts(const tokenizer::Tokenizer& tok) {
  std::vector<bool> out(tok.vocab_size());
  for (uint32_t id = 0; id < tok.vocab_size(); ++id) {
    std::string text = tok.decode({id});
    unsigned char c = text.empty() ? ' ' : static_cast<unsigned char>(text[0]);
    out[id] = std::isspace(c) || std::ispunct(c);
  }
  return out;
}

namespace {

// Positions of each word of one sequence (specials excluded).
std::vector<std::vector<int64_t>> words_of(const int64_t* ids, int64_t T, const std::vector<bool>& word_start,
                                           const EncoderSpecials& sp, bool whole_word, int64_t& tokens) {
  std::vector<std::vector<int64_t>> words;
  bool in_word = false;
  tokens = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t id = ids[t];
    if (sp.is_special(id) || id >= static_cast<int64_t>(word_start.size())) {
      in_word = false;
      continue;
    }
    ++tokens;
    if (!whole_word || !in_word || word_start[id]) words.emplace_back();
    words.back().push_back(t);
    in_word = true;
  }
  return words;
}

}  // namespace

MaskedBatch mask_tokens(const torch::Tensor& ids, const std::vector<bool>& word_start, const EncoderSpecials& sp,
                        const MlmConfig& cfg, uint64_t seed) {
  TORCH_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kInt64, "mask_tokens: ids must be (B, T) int64");
  torch::Tensor src = ids.contiguous().cpu();
  MaskedBatch out{src.clone(), torch::full_like(src, kIgnoreIndex)};
  const int64_t B = src.size(0), T = src.size(1);
  const int64_t* in = src.data_ptr<int64_t>();
  int64_t* x = out.input.data_ptr<int64_t>();
  int64_t* y = out.labels.data_ptr<int64_t>();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::uniform_int_distribution<int64_t> random_token(0, sp.text_vocab - 1);
  for (int64_t b = 0; b < B; ++b) {
    int64_t tokens = 0;
    auto words = words_of(in + b * T, T, word_start, sp, cfg.whole_word, tokens);
    if (tokens == 0) continue;
    const int64_t n_predict = std::max<int64_t>(1, std::llround(cfg.mask_ratio * static_cast<double>(tokens)));
    for (size_t i = words.size(); i > 1; --i) std::swap(words[i - 1], words[rng() % i]);  // same on every platform
    int64_t covered = 0;
    for (const auto& word : words) {
      if (covered + static_cast<int64_t>(word.size()) > n_predict) continue;
      covered += static_cast<int64_t>(word.size());
      for (int64_t t : word) {
        const int64_t i = b * T + t;
        y[i] = in[i];
        const double r = uniform(rng);
        if (r < cfg.replace_mask)
          x[i] = sp.mask();
        else if (r < cfg.replace_mask + cfg.replace_random)
          x[i] = random_token(rng);
      }
      if (covered == n_predict) break;
    }
  }
  return out;
}

}  // namespace lmlab::train
