// Checkpoint directories (ARCHITECTURE.md): config.toml (the resolved experiment),
// model.safetensors, optimizer.safetensors, trainer.json (step, tokens seen, RNG and loader
// state) and a copy of the run's tokenizer.json, written through AtomicDir so a crash never
// leaves a half-written checkpoint. Pinned so evaluation, generation and export (#7) can load
// models while the trainer lands (#4).
#pragma once
#include <torch/torch.h>

#include <string>

#include "lmlab/model/transformer.h"
#include "lmlab/train/experiment.h"

namespace lmlab::train {

struct InferenceModel {
  Experiment exp;                        // as resolved when the checkpoint was written
  model::Transformer model{nullptr};     // in eval mode, on `device`
  std::string tokenizer_path;            // the checkpoint's tokenizer.json
  int64_t step = 0;
};

// `dir` is a checkpoint directory or a run directory (its latest checkpoint is used).
// UserError naming the path when it is not a readable checkpoint.
InferenceModel load_for_inference(const std::string& dir, const torch::Device& device);

}  // namespace lmlab::train
