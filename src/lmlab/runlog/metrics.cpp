#include "lmlab/runlog/metrics.h"

#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

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

MetricsLogger::MetricsLogger(const std::string& run_dir, int64_t resume_step)
    : path_(run_dir + "/metrics.jsonl"), file_(nullptr, &std::fclose) {
  make_dirs(run_dir + "/tb");
  if (resume_step >= 0 && file_exists(path_)) {
    std::istringstream in(read_file(path_));
    std::string kept, line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.value("step", int64_t{-1}) <= resume_step) kept += line + "\n";
    }
    write_file_atomic(path_, kept);
  }
  file_.reset(std::fopen(path_.c_str(), resume_step >= 0 ? "ab" : "wb"));
  if (!file_) throw_user_error(path_, "cannot write metrics");
  tb_ = std::make_unique<TensorBoardWriter>(run_dir + "/tb");
}

void MetricsLogger::log(int64_t step, const nlohmann::json& record) {
  nlohmann::json line = {{"step", step}};
  line.update(record);
  std::string text = line.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size())
    throw_user_error(path_, "write failed");
  std::fflush(file_.get());

  std::vector<std::pair<std::string, float>> scalars;
  flatten(record, "", scalars);
  if (!scalars.empty()) {
    tb_->add_scalars(step, scalars);
    tb_->flush();
  }
}

}  // namespace lmlab::runlog
