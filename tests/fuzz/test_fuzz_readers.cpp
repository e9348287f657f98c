// Fuzzing the two readers of untrusted JSON/binary files (issue #23) without libtorch, so the
// same targets run in the normal build (ctest label `fuzz`) and under ASan/UBSan (label
// `fuzz-asan`, scripts/fuzz-sanitized.sh): tokenizer.json and the safetensors header. What
// loads must also hold together: a tokenizer round-trips text, a header's tensors tile its data.
#include <gtest/gtest.h>

#include "fuzz_loop.h"
#include "lmlab/model/safetensors_header.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"

namespace tk = lmlab::tokenizer;
using lmlab::test::fuzz;

namespace {

// A safetensors file of three tensors written by hand: F32 (2, 3), BF16 (3), I64 (4).
std::string safetensors_seed() {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[24,30]},"ids":{"dtype":"I64","shape":[4],"data_offsets":[30,62]}})";
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  out += header;
  for (int i = 0; i < 62; ++i) out += static_cast<char>(i);
  return out;
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
  const std::string seed_input = safetensors_seed();
  const auto seed = lmlab::model::parse_safetensors_header(seed_input, "seed.safetensors");
  ASSERT_EQ(seed.entries.size(), 3u);
  ASSERT_EQ(seed.metadata.at("format"), "pt");
  const int64_t refused = fuzz("safetensors_header", seed_input, [&](const std::string& input) {
    const auto h = lmlab::model::parse_safetensors_header(input, "fuzz.safetensors");
    // Accepted: the entries tile the data section in order, each as big as its shape and dtype.
    uint64_t at = 0;
    for (const auto& e : h.entries) {
      ASSERT_EQ(e.begin, at) << e.name;
      uint64_t numel = 1;
      for (int64_t d : e.shape) numel *= static_cast<uint64_t>(d);
      ASSERT_EQ(e.end - e.begin, numel * static_cast<uint64_t>(e.dtype->bytes)) << e.name;
      at = e.end;
    }
    ASSERT_EQ(h.data_start + at, input.size());
  });
  EXPECT_GT(refused, 0);
}

// What the fuzzer's tokens can reach: 2^61 F64 elements are 2^64 bytes, which wrapped to 0 and
// matched an empty byte range, so the loader allocated 16 EiB (an internal error, not exit 2).
TEST(Fuzz, AShapeWhoseByteSizeWrapsIsRefused) {
  const std::string header = R"({"x":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})";
  std::string file(8, '\0');
  file[0] = static_cast<char>(header.size());
  file += header;
  try {
    lmlab::model::parse_safetensors_header(file, "wrap.safetensors");
    ADD_FAILURE() << "accepted";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'x': shape and dtype need 2305843009213693952 x 8 bytes"),
              std::string::npos)
        << e.what();
  }
}
