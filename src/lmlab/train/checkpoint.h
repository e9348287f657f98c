// Checkpoint directories (ARCHITECTURE.md): config.toml (the resolved experiment),
// model.safetensors, optimizer.safetensors, trainer.json (step, tokens seen, RNG and loader
// state) and a copy of the run's tokenizer.json, written through AtomicDir so a crash never
// leaves a half-written checkpoint. Pinned so evaluation, generation and export (#7) can load
// models while the trainer lands (#4).
#pragma once
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmlab/model/safetensors.h"
#include "lmlab/model/transformer.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/experiment.h"

namespace lmlab::train {

// Layout: <run>/checkpoints/step_00000100/ (one directory per checkpoint) and the text file
// <run>/checkpoints/latest naming the newest one.
struct CheckpointData {
  std::string config_toml;        // the resolved experiment
  model::NamedTensors model;      // parameters by name
  model::NamedTensors optimizer;  // AdamW state (see optimizer.h)
  nlohmann::json trainer;         // {"step", "tokens", "loader": {...}, ...}
  std::string tokenizer_path;     // copied in as tokenizer.json when not empty
};

// Writes <run>/checkpoints/step_<step> atomically, then updates `latest`, then deletes all but
// the `keep` newest checkpoints (keep <= 0: keep all). Returns the checkpoint directory.
std::string write_checkpoint(const std::string& run_dir, int64_t step, const CheckpointData& data, int64_t keep);

// Writes one checkpoint directory `dir` itself (no run around it, e.g. `lmlab import hf`)
// through AtomicDir (`data.optimizer` may be empty: an empty file).
void write_checkpoint_dir(const std::string& dir, const CheckpointData& data);

// The newest checkpoint of a run ("" when it has none).
std::string latest_checkpoint(const std::string& run_dir);

// The top-level names lmlab writes into a checkpoint directory and into a run directory: a
// directory holding only these is lmlab's own and may be written again (common/output_dir.h).
const std::vector<std::string>& checkpoint_files();
const std::vector<std::string>& run_dir_entries();

// `dir` itself when it is a checkpoint, else the latest checkpoint of the run `dir`;
// UserError naming `dir` otherwise.
std::string resolve_checkpoint(const std::string& dir);

// Reads what write_checkpoint wrote (tokenizer_path points into the checkpoint).
CheckpointData read_checkpoint(const std::string& checkpoint_dir);

struct InferenceModel {
  Experiment exp;                        // as resolved when the checkpoint was written
  model::Transformer model{nullptr};     // in eval mode, on `device`
  std::string tokenizer_path;            // the checkpoint's tokenizer.json
  std::string checkpoint;                // the checkpoint directory it was read from
  int64_t step = 0;
};

// `dir` is a checkpoint directory or a run directory (its latest checkpoint is used).
// `overrides` ("section.key=value", as `--set`) change the checkpoint's config before the model
// is built, e.g. model.ffn.disable_top1=true for the CartesianMoE robustness test.
// UserError naming the path when it is not a readable checkpoint.
InferenceModel load_for_inference(const std::string& dir, const torch::Device& device,
                                  const std::vector<std::string>& overrides = {});

// The checkpoint's tokenizer.json; UserError when there is none, or when it has ids beyond the
// model's vocab_size (a tokenizer copied in from another run).
tokenizer::Tokenizer load_tokenizer(const InferenceModel& m);

}  // namespace lmlab::train
