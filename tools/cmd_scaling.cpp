// lmlab scaling fit. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_scaling_commands(CLI::App& app) {
  auto* s = app.add_subcommand("scaling", "Temporal Scaling Law: fit and extrapolate loss curves");
  s->require_subcommand(1);
  add_unimplemented(*s, "fit", "Fit the law to a run's position_loss.jsonl", "issue #6: scaling law");
}

}  // namespace lmlab::cli
