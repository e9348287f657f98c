// The run's metrics: one JSON object per logged step in <run>/metrics.jsonl, mirrored as
// TensorBoard scalars in <run>/tb/. Numbers (and numbers in nested objects, as "a/b") become
// scalars; arrays stay in the JSON only (e.g. per-expert loads).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "lmlab/common/append_file.h"
#include "lmlab/runlog/tensorboard.h"

namespace lmlab::runlog {

class MetricsLogger {
 public:
  // resume_step < 0: a new run (metrics.jsonl truncated). Otherwise entries after resume_step
  // are dropped, so a resumed run continues the curve instead of duplicating it.
  MetricsLogger(const std::string& run_dir, int64_t resume_step = -1);

  // Writes {"step": step, ...record}, the line whole or not at all (a full disk is a UserError
  // naming the file), so a crash loses at most the current line.
  void log(int64_t step, const nlohmann::json& record);

  const std::string& path() const { return path_; }
  const std::string& tensorboard_path() const { return tb_->path(); }

 private:
  std::string path_;
  std::unique_ptr<AppendFile> file_;
  std::unique_ptr<TensorBoardWriter> tb_;
};

}  // namespace lmlab::runlog
