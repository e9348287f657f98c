// Training of byte-level BPE and Scaffold-BPE (Lian et al., AAAI 2025, Algorithm 1).
//
// Both: the 256 bytes start the vocabulary; words are the distinct pre-tokens with their counts;
// each step takes the most frequent adjacent pair (a, b) from a lazy max-heap Q, merges every
// non-overlapping occurrence (left to right) into t = ab and updates only the pair counts of
// the words that contain (a, b). Tie-break: higher count first; at equal count a scaffold-token
// entry before a pair; then the smaller (left id, right id) with ids in E-order. The bytes' place
// in that order is set by TrainOptions::tie_break: "lmlab" (a byte's value, the default) or "hf"
// (the code point of its byte-level character, e.g. the space as U+0120 'Ġ' after every printable
// ASCII byte: HF tokenizers' BpeTrainer numbers its alphabet so, and breaks ties on those ids).
//
// Scaffold-BPE adds, after each merge, with f(x) = standalone count of x in the current segmentation:
//   f(a) -= f(t); f(b) -= f(t)              (a == b: subtracted twice; f(t) = merges actually made)
//   for t' in {a, b}: if t' ∈ V and f(t') < f(Q.head): Scaffold(t') <- True, push t' to Q with f(t')
// A popped scaffold token, or a popped pair whose string is already a scaffold token, is
// re-admitted into V without touching the corpus (Algorithm 1, lines 7-10); such a pair leaves
// Q until a merge changes its count (tests/tokenizer/test_scaffold_reference.cpp). Training stops
// when |V| = N - (number of special tokens). Base bytes are never scaffold. See docs/tokenizer.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/tokenizer/corpus.h"
#include "lmlab/tokenizer/model.h"

namespace lmlab::tokenizer {

struct TrainOptions {
  std::string algo = "bpe";          // "bpe" or "scaffold"
  uint32_t vocab_size = 32000;       // model-facing ids: |V| + specials
  std::string pretokenizer = "gpt2"; // "gpt2" or "gpt4"
  bool split_digits = false;
  std::vector<std::string> specials = {"<|endoftext|>"};
  int threads = 2;
  std::string tie_break = "lmlab";   // "lmlab" (bytes by value) or "hf" (bytes by byte-level code point)
  bool record_events = false;        // fill TrainResult::events (tests, debugging)
};

struct TrainResult {
  Model model;
  // One line per step when record_events: "merge a+b", "scaffold x", "readmit x" (token bytes).
  std::vector<std::string> events;
  uint64_t corpus_bytes = 0, distinct_words = 0;
  bool exhausted = false;            // the corpus ran out of pairs before |V| reached its target
};

// UserError for an unknown algo or tie_break, vocab_size below 256 + specials, or an empty corpus.
TrainResult train(const std::vector<std::string>& texts, const TrainOptions& options);
TrainResult train_words(const WordCounts& words, const TrainOptions& options);

}  // namespace lmlab::tokenizer
