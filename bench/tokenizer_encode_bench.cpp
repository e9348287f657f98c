// Encode throughput of an lmlab tokenizer: tokenizer_encode_bench tok.json FILE [THREADS]
// Prints MB/s for a first pass (empty per-word cache) and a second pass (warm cache), and the
// number of tokens. The CPU-time rate is the one to trust on a machine shared with other work. Run by bench/tokenizer_bench.sh; no libtorch in this binary.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>

#include "lmlab/common/files.h"
#include "lmlab/tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: tokenizer_encode_bench tok.json FILE [THREADS]\n");
    return 2;
  }
  auto tok = lmlab::tokenizer::Tokenizer::load(argv[1]);
  std::string text = lmlab::read_file(argv[2]);
  int threads = argc > 3 ? std::atoi(argv[3]) : 1;
  for (const char* pass : {"cold", "warm"}) {
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpu_start = std::clock();
    std::vector<uint32_t> ids = threads > 1 ? tok.encode_parallel(text, threads) : tok.encode(text);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;  // all threads
    std::printf("encode %s: %.1f MB in %.3f s wall = %.1f MB/s (CPU time %.3f s = %.1f MB/s per CPU-second), %zu tokens, %d thread(s)\n",
                pass, text.size() / 1e6, s, text.size() / 1e6 / s, cpu, text.size() / 1e6 / cpu, ids.size(), threads);
  }
  return 0;
}
