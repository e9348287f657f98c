// Checkpoint directories: written through AtomicDir (a crash leaves the previous checkpoint and
// no partial one), found through <run>/checkpoints/latest, pruned to the newest `keep`.
#include "lmlab/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"

namespace lmlab::train {

namespace fs = std::filesystem;

namespace {

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step_%08lld", static_cast<long long>(step));
  return buf;
}

// Every file write_checkpoint_dir always writes (tokenizer.json only when the data has one).
bool is_checkpoint(const std::string& dir) {
  for (const std::string& f : checkpoint_files())
    if (f != "tokenizer.json" && !file_exists(dir + "/" + f)) return false;
  return true;
}

// The complete checkpoint directories of a run, oldest first: an incomplete one (a crash mid-way,
// a file deleted by hand) is neither resumed from nor counted when old ones are pruned.
std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir + "/checkpoints", ec)) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step_", 0) == 0 && name.find('.') == std::string::npos &&
        is_checkpoint(e.path().string()))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

const std::vector<std::string>& checkpoint_files() {
  static const std::vector<std::string> files = {"config.toml", "model.safetensors", "optimizer.safetensors",
                                                 "trainer.json", "tokenizer.json"};
  return files;
}

const std::vector<std::string>& run_dir_entries() {
  // engine.cpp, runlog/metrics.cpp and the tasks (lm: position_loss.jsonl, plots/; fuda: fuda_result.json).
  static const std::vector<std::string> entries = {"config.toml", "metrics.jsonl",      "tb",
                                                   "checkpoints", "position_loss.jsonl", "plots",
                                                   "fuda_result.json"};
  return entries;
}

void write_checkpoint_dir(const std::string& dir, const CheckpointData& data) {
  AtomicDir out(dir);
  const std::string& tmp = out.staging();
  write_file_atomic(tmp + "/config.toml", data.config_toml);
  model::save_safetensors(tmp + "/model.safetensors", data.model, {{"format", "pt"}});
  model::save_safetensors(tmp + "/optimizer.safetensors", data.optimizer);
  write_file_atomic(tmp + "/trainer.json", data.trainer.dump(2) + "\n");
  if (!data.tokenizer_path.empty()) write_file_atomic(tmp + "/tokenizer.json", read_file(data.tokenizer_path));
  out.commit();
}

std::string write_checkpoint(const std::string& run_dir, int64_t step, const CheckpointData& data, int64_t keep) {
  const std::string root = run_dir + "/checkpoints", name = checkpoint_name(step), path = root + "/" + name;
  make_dirs(root);
  write_checkpoint_dir(path, data);
  write_file_atomic(root + "/latest", name + "\n");
  if (keep > 0) {
    const std::vector<std::string> all = list_checkpoints(run_dir);
    for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(root + "/" + all[i]);
  }
  return path;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const std::string root = run_dir + "/checkpoints";
  if (file_exists(root + "/latest")) {
    std::string name = read_file(root + "/latest");
    name.erase(name.find_last_not_of(" \n\r\t") + 1);
    if (is_checkpoint(root + "/" + name)) return root + "/" + name;
  }
  // `latest` is written after the directory: a crash in between leaves a newer complete one.
  const std::vector<std::string> all = list_checkpoints(run_dir);
  return all.empty() ? "" : root + "/" + all.back();
}

std::string resolve_checkpoint(const std::string& dir) {
  if (is_checkpoint(dir)) return dir;
  std::string latest = latest_checkpoint(dir);
  if (latest.empty())
    throw_user_error(dir, "not a checkpoint (model.safetensors, optimizer.safetensors, trainer.json, config.toml) nor a run directory with one");
  return latest;
}

CheckpointData read_checkpoint(const std::string& checkpoint_dir) {
  CheckpointData d;
  d.config_toml = read_file(checkpoint_dir + "/config.toml");
  d.model = model::load_safetensors(checkpoint_dir + "/model.safetensors");
  if (file_exists(checkpoint_dir + "/optimizer.safetensors"))
    d.optimizer = model::load_safetensors(checkpoint_dir + "/optimizer.safetensors");
  const std::string trainer = checkpoint_dir + "/trainer.json";
  d.trainer = parse_json(read_file(trainer), SourcePos{trainer, 1, 1});
  if (!d.trainer.is_object()) throw_user_error(trainer, "expected a JSON object, got " + json_type_name(d.trainer));
  // What resume and inference read: counts that are non-negative integers, a loader state object.
  for (const char* count : {"step", "tokens", "samples", "world_size"})
    if (d.trainer.contains(count)) json_int(d.trainer, count, 0, INT64_MAX, trainer);
  if (d.trainer.contains("loader") && !d.trainer["loader"].is_object())
    throw_user_error(trainer, "loader: expected an object, got " + json_type_name(d.trainer["loader"]));
  if (file_exists(checkpoint_dir + "/tokenizer.json")) d.tokenizer_path = checkpoint_dir + "/tokenizer.json";
  return d;
}

}  // namespace lmlab::train
