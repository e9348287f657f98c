// lmlab uniattn init: UniAttn's closed-form W_c on calibration samples (docs/uniattn.md).
#include <cstdio>
#include <iostream>

#include "commands.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/uniattn_init.h"

namespace lmlab::cli {

namespace {

void run_init(const train::UniattnInitOptions& o, bool force) {
  check_output_dir({{"--output", o.output},
                    {{"--checkpoint", o.checkpoint}, {"--checkpoint", train::resolve_checkpoint(o.checkpoint)},
                     {"--data", o.data}},
                    train::run_dir_entries(),
                    force});
  auto fits = train::run_uniattn_init(o);
  std::printf("%-6s %16s %16s %8s\n", "layer", "mse (W_c = 0)", "mse (fitted)", "ratio");
  for (const auto& f : fits)
    std::printf("%-6lld %16.6g %16.6g %8.3f\n", static_cast<long long>(f.layer), f.mse_zero, f.mse_fitted,
                f.mse_fitted / f.mse_zero);
  std::cout << "\nwrote " << o.output << " (use it as train.init_from of the stage-1 run)\n";
}

}  // namespace

void add_uniattn_commands(CLI::App& app) {
  auto* u = app.add_subcommand("uniattn", "UniAttn: softmax unification for post-training (docs/uniattn.md)");
  u->require_subcommand(1);
  auto o = std::make_shared<train::UniattnInitOptions>();
  auto force = std::make_shared<bool>(false);
  auto* init = u->add_subcommand(
      "init", "Fit the compensation W_c of every softmax-reusing layer in closed form (pseudo-inverse, layer by layer)");
  init->add_option("--checkpoint", o->checkpoint, "the base model: a checkpoint or run directory")->required();
  init->add_option("--data", o->data, "instruction JSON/JSONL whose first N records are the calibration set")
      ->required();
  init->add_option("--output", o->output, "where to write the initialised model (a run directory)")->required();
  init->add_option("--samples", o->samples, "calibration samples (default 256)")->check(CLI::PositiveNumber);
  init->add_option("--seq-len", o->seq_len, "pad/cut samples to this many tokens (default: the base's data.seq_len)");
  init->add_option("--rcond", o->rcond, "pinv cut-off relative to the largest singular value (default 1e-10)");
  init->add_option("--set", o->overrides,
                   "the SuperBlock layout, e.g. --set model.attention.unify_group=2 (repeatable; compensation is on)");
  init->add_flag("--force", *force, "Write into --output even when it holds files that are not a run's");
  init->callback([o, force] { run_init(*o, *force); });
}

}  // namespace lmlab::cli
