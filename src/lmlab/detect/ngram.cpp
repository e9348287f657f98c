// Hashed n-gram logistic regression (formulas in ngram.h).
#include "lmlab/detect/ngram.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <random>

#include "lmlab/common/error.h"

namespace lmlab::detect {

namespace {

// Code points of UTF-8 `s` as their byte strings (an invalid byte is its own "character").
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0xF0) n = 4;
    else if (c >= 0xE0) n = 3;
    else if (c >= 0xC0) n = 2;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// Lower-cased ASCII words; ASCII punctuation is its own word, other bytes join the word.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      flush();
    } else if (c < 0x80 && std::ispunct(c)) {
      flush();
      out.push_back(std::string(1, ch));
    } else {
      cur.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    }
  }
  flush();
  return out;
}

void add_ngrams(const std::vector<std::string>& units, int64_t n, char tag, const char* sep, uint32_t mask,
                std::vector<uint32_t>& buckets) {
  for (size_t i = 0; i + static_cast<size_t>(n) <= units.size(); ++i) {
    std::string g(1, tag);
    g += std::to_string(n);
    for (int64_t k = 0; k < n; ++k) g += sep + units[i + static_cast<size_t>(k)];
    buckets.push_back(static_cast<uint32_t>(fnv1a64(g)) & mask);
  }
}

double sigmoid(double z) { return z >= 0 ? 1 / (1 + std::exp(-z)) : std::exp(z) / (1 + std::exp(z)); }

double dot(const SparseVector& x, const std::vector<float>& w, float b) {
  double z = b;
  for (const auto& [j, v] : x) z += static_cast<double>(w[j]) * v;
  return z;
}

}  // namespace

SparseVector ngram_features(const std::string& text, const NgramConfig& cfg) {
  if (cfg.hash_bits < 1 || cfg.hash_bits > 28) throw UserError("detect.ngram.hash_bits must be in [1, 28]");
  const uint32_t mask = (1u << cfg.hash_bits) - 1;
  std::vector<uint32_t> buckets;
  const auto ws = words(text);
  for (int64_t n : cfg.word_n) add_ngrams(ws, n, 'w', "\x1f", mask, buckets);
  const auto cs = characters(text);
  for (int64_t n : cfg.char_n) add_ngrams(cs, n, 'c', "", mask, buckets);
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  SparseVector x;
  const float v = buckets.empty() ? 0.f : static_cast<float>(1.0 / std::sqrt(static_cast<double>(buckets.size())));
  for (uint32_t j : buckets) x.push_back({j, v});
  return x;
}

double NgramModel::prob(const std::string& text) const { return sigmoid(dot(ngram_features(text, cfg), w, b)); }

NgramModel train_ngram(const std::vector<DetectExample>& train, const NgramConfig& cfg, uint64_t seed) {
  if (train.empty()) throw UserError("detect: no training examples for the n-gram detector");
  NgramModel m;
  m.cfg = cfg;
  const size_t D = size_t{1} << cfg.hash_bits;
  m.w.assign(D, 0.f);
  std::vector<SparseVector> xs;
  for (const auto& ex : train) xs.push_back(ngram_features(ex.text, cfg));
  std::vector<double> g2(D, 1e-8);  // AdaGrad accumulators
  double g2_b = 1e-8;
  std::vector<size_t> order(xs.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t epoch = 0; epoch < cfg.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {
      const double g = sigmoid(dot(xs[i], m.w, m.b)) - train[i].label;  // d logloss / dz
      for (const auto& [j, v] : xs[i]) {
        const double gj = g * v + cfg.l2 * m.w[j];  // the penalty applied lazily, where x is non-zero
        g2[j] += gj * gj;
        m.w[j] -= static_cast<float>(cfg.lr * gj / std::sqrt(g2[j]));
      }
      g2_b += g * g;
      m.b -= static_cast<float>(cfg.lr * g / std::sqrt(g2_b));
    }
  }
  return m;
}

}  // namespace lmlab::detect
