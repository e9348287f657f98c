// [run] and [train] config sections (see lmlab/config/config.h for how keys are declared).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/config/config.h"

#include "lmlab/train/loss_config.h"

namespace lmlab {

namespace train {
std::vector<std::string> task_names();  // the task registry's names (task.h)
}

struct RunConfig {
  std::string task = "lm";
  std::string out_dir = "runs/default";
  int64_t seed = 1337;
  std::string device = "auto";

  template <class V>
  void visit(V& v) {
    v.field("task", task, "what to train, by task registry name (lmlab/train/task.h, docs/architecture.md)",
            train::task_names());
    v.field("out_dir", out_dir, "directory for checkpoints, metrics.jsonl, TensorBoard events and plots");
    v.field("seed", seed, "random seed for initialisation and data order");
    v.field("device", device, "where to train: auto picks CUDA when available", {"auto", "cpu", "cuda"});
  }
};

struct TrainConfig {
  int64_t steps = 1000;
  int64_t epochs = 0;
  double lr = 3e-4;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 100;
  std::string schedule = "cosine";
  double decay_fraction = 0.2;
  int64_t batch_size = 8;
  int64_t grad_accum = 1;
  double weight_decay = 0.1;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double grad_clip = 1.0;
  std::string precision = "auto";
  int64_t log_every = 10;
  int64_t checkpoint_every = 500;
  int64_t keep_checkpoints = 2;
  double max_minutes = 0;
  double peak_tflops = 989.0;
  double dist_timeout_s = 120;
  int64_t cpu_ranks = 0;
  std::string init_from;
  std::vector<std::string> freeze;
  std::vector<std::string> train_only;
  LossConfig loss;

  template <class V>
  void visit(V& v) {
    v.field("steps", steps, "number of optimizer steps (ignored when epochs > 0)", config::at_least(0));
    v.field("epochs", epochs,
            "> 0: train this many passes over the data instead (steps = epochs x batches per epoch / grad_accum; "
            "the last partial batch of an epoch is dropped)", config::at_least(0));
    v.field("lr", lr, "peak learning rate", config::at_least(0));
    v.field("min_lr_ratio", min_lr_ratio, "final learning rate as a fraction of lr (cosine and wsd)", config::between(0, 1));
    v.field("warmup_steps", warmup_steps, "linear warm-up from 0 to lr over this many steps", config::at_least(0));
    v.field("schedule", schedule,
            "after warm-up: cosine decay to min_lr; wsd = constant, then linear decay over the last "
            "decay_fraction of the steps; constant",
            {"cosine", "wsd", "constant"});
    v.field("decay_fraction", decay_fraction, "wsd: fraction of all steps spent decaying", config::between(0, 1));
    v.field("batch_size", batch_size, "sequences per micro-batch: per rank under torchrun; shared by the CPU ranks of one `lmlab train` (cpu_ranks)", config::at_least(1));
    v.field("grad_accum", grad_accum, "micro-batches accumulated per optimizer step", config::at_least(1));
    v.field("weight_decay", weight_decay, "AdamW decoupled weight decay (matrices only; never norms, biases, 1-D)", config::at_least(0));
    v.field("beta1", beta1, "AdamW beta1", config::from_below(0, 1));
    v.field("beta2", beta2, "AdamW beta2", config::from_below(0, 1));
    v.field("eps", eps, "AdamW epsilon", config::above(0));
    v.field("grad_clip", grad_clip, "clip the global gradient norm to this (0 = off)", config::at_least(0));
    v.field("precision", precision, "auto = bf16 autocast on CUDA, fp32 on CPU", {"auto", "bf16", "fp32"});
    v.field("log_every", log_every, "write metrics.jsonl and the progress line every N steps", config::at_least(1));
    v.field("checkpoint_every", checkpoint_every, "write a checkpoint every N steps (and at the end; 0 = end only)", config::at_least(0));
    v.field("keep_checkpoints", keep_checkpoints, "how many of the newest checkpoints to keep (0 = all)", config::at_least(0));
    v.field("max_minutes", max_minutes, "stop (with a checkpoint and an eval) after this much wall time; 0 = off", config::at_least(0));
    v.field("peak_tflops", peak_tflops,
            "peak FLOP/s per device for MFU, in TFLOP/s (default: H100 SXM bf16 dense, 989)", config::at_least(0));
    v.field("dist_timeout_s", dist_timeout_s, "data-parallel: a collective waiting longer than this fails the run", config::above(0));
    v.field("cpu_ranks", cpu_ranks,
            "CPU only: processes one `lmlab train` starts, each with one thread and batch_size / cpu_ranks of every "
            "batch, averaging gradients (same losses within rounding); 0 = auto: one per core for a dense lm task "
            "without dropout when they divide batch_size, else 1 (one process, intra-op threads)", config::at_least(0));
    v.field("init_from", init_from,
            "start from this checkpoint's (or run's latest) weights: tensors whose name and shape match are "
            "copied, the rest keep their init (e.g. a dsmoe run from a dense one: only the gates are new); "
            "optimizer and step start fresh; ignored by --resume");
    v.field("freeze", freeze,
            "parameter-name glob patterns that do not train (fnmatch: '*' also matches '.'), e.g. "
            "[\"backbone.*\"]; frozen weights stay bit-identical and get no optimizer state");
    v.field("train_only", train_only,
            "when set, only parameters matching these globs train and every other one is frozen, e.g. "
            "UniAttn's stage 1: [\"*.wc.*\"]");
    v.section("loss", loss);
  }
};

}  // namespace lmlab
