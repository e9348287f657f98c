// Seeded random-mutation fuzzing of readers of untrusted files (issue #23). Every mutant must
// either load or be refused with a UserError; any other exception fails and keeps the input in
// fuzz-<name>-failure.bin. A crash (the sanitized build makes every memory error and undefined
// behaviour one) prints its stack; the mutants are a fixed sequence of LMLAB_FUZZ_SEED (default
// 1), so the same seed reproduces it. Bounded by LMLAB_FUZZ_SECONDS (default 20 per reader).
// No libtorch: the sanitized build (scripts/fuzz-sanitized.sh) compiles this too.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>

#include "lmlab/common/error.h"

namespace lmlab::test {

inline double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

// One mutation of `s`: flip a byte, delete or duplicate a slice, or insert a value readers get
// wrong (huge, negative, overflowing numbers, other JSON types, unbalanced brackets).
inline void mutate(std::string& s, std::mt19937_64& rng) {
  static const char* const kTokens[] = {"1e400", "-1", "4294967296", "18446744073709551616", "2147483647", "null",
                                        "[]", "{}", "\"\"", "\"", "0", "-0.5", "true", "[", "}", ",", ":",
                                        "2305843009213693952", "4611686018427387904", "9223372036854775807"};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % std::max<size_t>(n, 1)); };
  const size_t at = pick(s.size() + 1);
  switch (rng() % 4) {
    case 0:
      if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:
      s.erase(at, pick(16) + 1);
      break;
    case 2:
      s.insert(at, s.substr(pick(s.size()), pick(32)));
      break;
    default:
      s.insert(at, kTokens[pick(sizeof kTokens / sizeof *kTokens)]);
  }
}

// Runs `load` on mutants of `seed_input` for the time budget; returns how many were refused.
inline int64_t fuzz(const std::string& name, const std::string& seed_input,
                    const std::function<void(const std::string&)>& load) {
  std::mt19937_64 rng(static_cast<uint64_t>(env_number("LMLAB_FUZZ_SEED", 1)));
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(env_number("LMLAB_FUZZ_SECONDS", 20));
  int64_t runs = 0, refused = 0;
  while (std::chrono::steady_clock::now() < stop) {
    std::string input = seed_input;
    for (int m = static_cast<int>(rng() % 4); m >= 0; --m) mutate(input, rng);
    ++runs;
    try {
      load(input);
    } catch (const UserError&) {
      ++refused;
    } catch (const std::exception& e) {
      std::ofstream("fuzz-" + name + "-failure.bin", std::ios::binary) << input;
      ADD_FAILURE() << name << " mutant " << runs << " raised a non-user error (input in fuzz-" << name
                    << "-failure.bin): " << e.what();
      return refused;
    }
  }
  std::cout << name << ": " << runs << " mutants, " << refused << " refused\n";
  EXPECT_GT(runs, 100) << "the budget ran too few inputs to mean anything";
  return refused;
}

}  // namespace lmlab::test
