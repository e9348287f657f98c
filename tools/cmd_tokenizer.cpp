// lmlab tokenizer train|encode|decode|stats. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_tokenizer_commands(CLI::App& app) {
  auto* tok = app.add_subcommand("tokenizer", "Train, apply and inspect BPE / Scaffold-BPE tokenizers");
  tok->require_subcommand(1);
  for (const char* name : {"train", "encode", "decode", "stats"})
    add_unimplemented(*tok, name, std::string("tokenizer ") + name, "issue #3: tokenizers");
}

}  // namespace lmlab::cli
