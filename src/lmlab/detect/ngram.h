// The classic strong baseline: logistic regression on hashed word and character n-grams.
//   x      = L2-normalised binary indicators of the text's n-grams, hashed into 2^bits buckets:
//            word n-grams (n in word_n) of the lower-cased whitespace/punctuation-split words,
//            character n-grams (n in char_n) of its Unicode code points (Chinese has no spaces:
//            the character n-grams carry it)
//   p      = sigmoid(w . x + b)                               P(model | text)
//   loss   = mean log-loss + l2/2 |w|^2, minimised by AdaGrad over shuffled examples, in C++
//            (deterministic for a seed).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lmlab/detect/hc3_data.h"

namespace lmlab::detect {

struct NgramConfig {
  int64_t hash_bits = 18;
  std::vector<int64_t> word_n = {1, 2};
  std::vector<int64_t> char_n = {2, 3, 4};
  int64_t epochs = 10;
  double lr = 0.5;
  double l2 = 1e-6;

  template <class V>
  void visit(V& v) {
    v.field("hash_bits", hash_bits, "feature buckets = 2^hash_bits (collisions are shared weights)");
    v.field("word_n", word_n, "word n-gram orders");
    v.field("char_n", char_n, "character (code point) n-gram orders");
    v.field("epochs", epochs, "passes over the training texts");
    v.field("lr", lr, "AdaGrad step size");
    v.field("l2", l2, "L2 penalty on the weights");
  }
};

// (bucket, value) pairs, buckets sorted and unique, values with unit L2 norm.
using SparseVector = std::vector<std::pair<uint32_t, float>>;
SparseVector ngram_features(const std::string& text, const NgramConfig& cfg);

struct NgramModel {
  NgramConfig cfg;
  std::vector<float> w;  // (2^hash_bits)
  float b = 0;
  double prob(const std::string& text) const;  // P(model | text)
};

NgramModel train_ngram(const std::vector<DetectExample>& train, const NgramConfig& cfg, uint64_t seed);

}  // namespace lmlab::detect
