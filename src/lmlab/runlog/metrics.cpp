#include "lmlab/runlog/metrics.h"

#include "lmlab/common/files.h"
#include "lmlab/runlog/jsonl.h"

namespace lmlab::runlog {

namespace {

void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, float>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string tag = prefix.empty() ? it.key() : prefix + "/" + it.key();
    if (it->is_number()) out.emplace_back(tag, it->get<float>());
    else if (it->is_object()) flatten(*it, tag, out);
  }
}

}  // namespace

MetricsLogger::MetricsLogger(const std::string& run_dir, int64_t resume_step) : path_(run_dir + "/metrics.jsonl") {
  make_dirs(run_dir + "/tb");
  if (resume_step >= 0) truncate_jsonl(path_, resume_step);
  file_ = std::make_unique<AppendFile>(path_, /*truncate=*/resume_step < 0);
  tb_ = std::make_unique<TensorBoardWriter>(run_dir + "/tb");
}

void MetricsLogger::log(int64_t step, const nlohmann::json& record) {
  nlohmann::json line = {{"step", step}};
  line.update(record);
  file_->append(line.dump() + "\n");

  std::vector<std::pair<std::string, float>> scalars;
  flatten(record, "", scalars);
  if (!scalars.empty()) {
    tb_->add_scalars(step, scalars);
  }
}

}  // namespace lmlab::runlog
