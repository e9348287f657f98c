// lmlab export hf. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_export_commands(CLI::App& app) {
  auto* e = app.add_subcommand("export", "Export a checkpoint to other formats");
  e->require_subcommand(1);
  add_unimplemented(*e, "hf", "Export a dense model as a Hugging Face Llama", "issue #7: interoperability");
}

}  // namespace lmlab::cli
