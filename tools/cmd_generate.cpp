// lmlab generate. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_generate_command(CLI::App& app) {
  add_unimplemented(app, "generate", "Sample text from a checkpoint", "issue #4: training core");
}

}  // namespace lmlab::cli
