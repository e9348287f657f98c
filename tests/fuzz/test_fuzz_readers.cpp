// Seeded random-mutation fuzzing of the two readers of untrusted binary/JSON files (issue #23):
// tokenizer.json and the safetensors header. Every mutant must either load or be refused with a
// UserError; any other exception (or a crash) fails, and the input is kept for reproduction.
// A loaded tokenizer must also encode and round-trip text. Bounded by LMLAB_FUZZ_SECONDS
// (default 20 per reader) from LMLAB_FUZZ_SEED (default 1); ctest label `fuzz`, run with
// `ctest -L fuzz` (scripts/test.sh leaves it out of the default suite).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>

#include "lmlab/common/error.h"
#include "lmlab/model/safetensors.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "testing.h"

namespace tk = lmlab::tokenizer;
using lmlab::test::TempDir;

namespace {

double env_number(const char* name, double fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atof(v) : fallback;
}

// One mutation of `s`: flip a byte, delete or duplicate a slice, or insert a value readers get
// wrong (huge, negative, overflowing numbers, other JSON types, unbalanced brackets).
void mutate(std::string& s, std::mt19937_64& rng) {
  static const char* const kTokens[] = {"1e400", "-1", "4294967296", "18446744073709551616", "2147483647", "null",
                                        "[]", "{}", "\"\"", "\"", "0", "-0.5", "true", "[", "}", ",", ":"};
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
int64_t fuzz(const std::string& name, const std::string& seed_input, const std::function<void(const std::string&)>& load) {
  std::mt19937_64 rng(static_cast<uint64_t>(env_number("LMLAB_FUZZ_SEED", 1)));
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(env_number("LMLAB_FUZZ_SECONDS", 20));
  int64_t runs = 0, refused = 0;
  while (std::chrono::steady_clock::now() < stop) {
    std::string input = seed_input;
    for (int m = static_cast<int>(rng() % 4); m >= 0; --m) mutate(input, rng);
    ++runs;
    try {
      load(input);
    } catch (const lmlab::UserError&) {
      ++refused;
    } catch (const std::exception& e) {
      lmlab::test::write_text("fuzz-" + name + "-failure.bin", input);
      ADD_FAILURE() << name << " mutant " << runs << " raised a non-user error (input in fuzz-" << name
                    << "-failure.bin): " << e.what();
      return refused;
    }
  }
  std::cout << name << ": " << runs << " mutants, " << refused << " refused\n";
  EXPECT_GT(runs, 100) << "the budget ran too few inputs to mean anything";
  return refused;
}

}  // namespace

TEST(Fuzz, TokenizerJsonReaderRefusesOrLoadsEveryMutant) {
  tk::TrainOptions o;
  o.vocab_size = 300;
  o.threads = 1;
  const std::string text = "the cat sat on the mat; the dog sat on the log. 123 + 456 = 579\n";
  const std::string seed_input = tk::to_tokenizer_json(tk::train({text, text}, o).model);
  const int64_t refused = fuzz("tokenizer_json", seed_input, [&](const std::string& input) {
    tk::Tokenizer t = tk::Tokenizer::from_model(tk::parse_tokenizer_json(input, "fuzz.json"));
    ASSERT_EQ(t.decode(t.encode(text)), text);  // what loads must still be a working tokenizer
  });
  EXPECT_GT(refused, 0);
}

TEST(Fuzz, SafetensorsHeaderReaderRefusesOrLoadsEveryMutant) {
  TempDir dir;
  const std::string good = dir.file("good.safetensors"), bad = dir.file("mutant.safetensors");
  lmlab::model::save_safetensors(good, {{"w", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                                        {"b", torch::ones({3}, torch::kBFloat16)},
                                        {"ids", torch::arange(4, torch::kInt64)}},
                                 {{"format", "pt"}});
  const int64_t refused = fuzz("safetensors", lmlab::test::read_text(good), [&](const std::string& input) {
    lmlab::test::write_text(bad, input);
    for (const auto& [name, t] : lmlab::model::load_safetensors(bad)) (void)t.sum().item<double>();
  });
  EXPECT_GT(refused, 0);
}
