// libFuzzer target: for any byte string x, decode(encode(x)) == x, no scaffold id reaches the
// output, and parallel encoding equals serial encoding. Uses a small Scaffold-BPE tokenizer trained
// at start-up (or $LMLAB_FUZZ_TOKENIZER). Built by bench/CMakeLists.txt when the compiler is clang;
// by hand: see docs/tokenizer.md ("Fuzzing").
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/trainer.h"

namespace {

const lmlab::tokenizer::Tokenizer& tokenizer() {
  static const lmlab::tokenizer::Tokenizer tok = [] {
    if (const char* path = std::getenv("LMLAB_FUZZ_TOKENIZER")) return lmlab::tokenizer::Tokenizer::load(path);
    std::string text;
    for (int i = 0; i < 200; ++i)
      text += "the quick brown fox jumps over the lazy dog's back 12345 times; caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87\n";
    lmlab::tokenizer::TrainOptions o;
    o.algo = "scaffold";
    o.vocab_size = 400;
    o.threads = 1;
    return lmlab::tokenizer::Tokenizer::from_model(lmlab::tokenizer::train({text}, o).model);
  }();
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& tok = tokenizer();
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<uint32_t> ids = tok.encode(text);
  for (uint32_t id : ids)
    if (id >= tok.vocab_size()) std::abort();
  if (tok.decode(ids) != text) std::abort();
  if (tok.encode_parallel(text, 3) != ids) std::abort();
  return 0;
}
