// Writes a run directory with 200 logged steps of varied scalars (tiny, huge, negative, nested),
// for check_tensorboard.py to read back with TensorBoard's own EventAccumulator.
//   tb_fixture <run-dir>
#include <cmath>
#include <cstdio>

#include "lmlab/runlog/metrics.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tb_fixture <run-dir>\n");
    return 2;
  }
  lmlab::runlog::MetricsLogger m(argv[1]);
  for (int step = 1; step <= 200; ++step) {
    double loss = 10.0 * std::exp(-step / 50.0) + 1.5;
    m.log(step, {{"loss", loss},
                 {"lr", 3e-4 * std::min(1.0, step / 20.0)},
                 {"grad_norm", -0.5 + std::sin(step)},
                 {"tokens_per_s", 1.25e6 + step},
                 {"routing", {{"entropy", 1.0 / step}, {"load", {0.25, 0.75}}}}});
  }
  return 0;
}
