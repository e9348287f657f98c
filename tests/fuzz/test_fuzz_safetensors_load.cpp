// Fuzzing load_safetensors (issue #23) whole, libtorch included: every mutant of a file that
// save_safetensors wrote loads into tensors that can be read, or is refused with a UserError.
// The header reader alone also runs under ASan/UBSan (test_fuzz_readers.cpp).
#include <gtest/gtest.h>

#include "fuzz_loop.h"
#include "lmlab/model/safetensors.h"
#include "testing.h"

using lmlab::test::TempDir;

TEST(Fuzz, SafetensorsLoadRefusesOrLoadsEveryMutant) {
  TempDir dir;
  const std::string good = dir.file("good.safetensors"), bad = dir.file("mutant.safetensors");
  lmlab::model::save_safetensors(good, {{"w", torch::arange(6, torch::kFloat32).reshape({2, 3})},
                                        {"b", torch::ones({3}, torch::kBFloat16)},
                                        {"ids", torch::arange(4, torch::kInt64)}},
                                 {{"format", "pt"}});
  const int64_t refused = lmlab::test::fuzz("safetensors", lmlab::test::read_text(good), [&](const std::string& input) {
    lmlab::test::write_text(bad, input);
    for (const auto& [name, t] : lmlab::model::load_safetensors(bad)) (void)t.sum().item<double>();
  });
  EXPECT_GT(refused, 0);
}
