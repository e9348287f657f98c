// One task's scores as reported by `lmlab eval` (JSON, table, chart).
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace lmlab::eval {

struct TaskResult {
  std::string task;
  int64_t n = 0;                          // items (or documents) scored
  std::map<std::string, double> metrics;  // e.g. "acc", "acc_stderr", "acc_norm", "perplexity"
  std::string note;                       // how the task's requests differ from lm-eval's ("" = they do not)
};

}  // namespace lmlab::eval
