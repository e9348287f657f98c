// Reader for a run's position_loss.jsonl (written by the trainer at every evaluation):
//   {"step": S, "tokens": N, "loss": L, "position_loss": [l_0, ..., l_{T-1}],
//    "position_se": [s_0, ..., s_{T-1}], "position_count": [...], "windows_at": "doc_start"}
// l_i is the validation loss of the prediction at 0-based context position i, s_i its standard
// error over the validation windows (optional; the other keys are not read here).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::analysis {

struct EvalPoint {
  int64_t step = 0;
  int64_t tokens = 0;  // trained tokens at this step (0 when the file does not say)
  double loss = 0;     // mean validation loss
  std::vector<double> position_loss;  // (T)
  std::vector<double> position_se;    // (T), or empty when the file has none
};

// All evaluations in file order. UserError "file:line:col: problem" for a missing file, a line
// that is not a JSON object with the fields above, non-finite losses, position_loss arrays of
// different lengths, steps that do not increase, or a file with no evaluations.
std::vector<EvalPoint> read_position_loss(const std::string& path);

}  // namespace lmlab::analysis
