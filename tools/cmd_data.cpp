// lmlab data prepare. Not implemented yet: it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare token shards for training");
  data->require_subcommand(1);
  add_unimplemented(*data, "prepare", "Tokenize text files into token shards", "issue #4: training core");
}

}  // namespace lmlab::cli
