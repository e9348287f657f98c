// `lmlab-core`: every lmlab command, libtorch linked. Users run `lmlab` (tools/lmlab.cpp), which
// runs the tokenizer commands itself and execs this executable for everything else, so what is
// printed here and the exit status are what `lmlab` prints and returns.
#include <c10/util/Exception.h>

#include <cstdlib>
#include <iostream>

#include "cli_run.h"
#include "commands.h"

namespace {

// libtorch's errors carry a 15-25 line C++ backtrace: useful to whoever debugs lmlab
// (LMLAB_DEBUG=1), noise to everyone else, who gets the message's first line.
bool debug_requested() {
  const char* v = std::getenv("LMLAB_DEBUG");
  return v && std::string(v) == "1";
}

std::string describe_internal(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  if (!torch_error || debug_requested()) return e.what();
  const std::string message = torch_error->what_without_backtrace();
  return message.substr(0, message.find('\n'));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app;
  lmlab::cli::init_root_app(app);
  app.add_flag_callback(
      "--version",
      [] {
        std::cout << lmlab::cli::version_text();
        throw CLI::Success();
      },
      "Print the lmlab and libtorch versions and the CUDA device");

  lmlab::cli::add_tokenizer_commands(app);
  lmlab::cli::add_data_commands(app);
  lmlab::cli::add_train_command(app);
  lmlab::cli::add_eval_command(app);
  lmlab::cli::add_generate_command(app);
  lmlab::cli::add_scaling_commands(app);
  lmlab::cli::add_export_commands(app);
  lmlab::cli::add_import_commands(app);
  lmlab::cli::add_quickstart_command(app);
  lmlab::cli::add_uniattn_commands(app);
  lmlab::cli::add_results_commands(app);
  lmlab::cli::add_detect_commands(app);
  lmlab::cli::add_retrieve_commands(app);
  return lmlab::cli::run_app(app, argc, argv, describe_internal);
}
