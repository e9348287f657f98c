// lmlab eval. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_eval_command(CLI::App& app) {
  add_unimplemented(app, "eval", "Perplexity and zero-shot tasks on a checkpoint", "issue #7: evaluation");
}

}  // namespace lmlab::cli
