// `lmlab train`: the training loop every method plugs into.
//   per step: lr from the schedule; grad_accum micro-batches of forward (bf16 autocast on CUDA)
//   + loss / grad_accum + backward; gradients averaged over data-parallel ranks; global-norm
//   clipping; AdamW. Every log_every steps a metrics.jsonl line and the progress line (loss,
//   tokens/s, MFU); every eval.every steps validation loss + position_loss.jsonl; every
//   checkpoint_every steps a checkpoint. A non-finite loss or gradient norm stops the run
//   before the update is applied, with a checkpoint of that last good state.
#pragma once
#include <string>

#include "lmlab/train/experiment.h"

namespace lmlab::train {

struct TrainResult {
  int64_t steps = 0;          // optimizer steps completed
  double val_loss = 0;        // of the final eval
  std::string run_dir, checkpoint;
};

// `exp` as resolved from the config file and --set overrides (model.vocab_size 0 is filled in
// from the data). `resume`: continue from the run's latest checkpoint.
TrainResult run_training(Experiment exp, bool resume);

// Prints total / active parameters and training FLOPs per token of the configured model.
std::string describe_model(Experiment exp);

}  // namespace lmlab::train
