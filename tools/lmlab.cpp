// The `lmlab` command: parses the command line and maps every failure onto the exit-status
// convention of lmlab/common/error.h (2: bad usage or input, 1: internal failure).
#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "lmlab/common/error.h"

namespace {

// When CLI11 stops at a word it does not know ("lmlab trian"), name the subcommand the user
// probably meant.
std::string unknown_command_hint(const CLI::App& app) {
  const CLI::App* deepest = &app;
  for (auto subs = app.get_subcommands(); !subs.empty(); subs = deepest->get_subcommands())
    deepest = subs.front();
  auto remaining = deepest->remaining();
  if (remaining.empty() || remaining.front().rfind("-", 0) == 0) return "";
  std::vector<std::string> names;
  for (const auto* s : deepest->get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(s->get_name());
  std::string hint = lmlab::did_you_mean(remaining.front(), names);
  return hint.empty() ? "" : ": unknown command '" + remaining.front() + "'" + hint;
}

// libtorch's errors carry a 15-25 line C++ backtrace: useful to whoever debugs lmlab
// (LMLAB_DEBUG=1), noise to everyone else, who gets the message's first line.
bool debug_requested() {
  const char* v = std::getenv("LMLAB_DEBUG");
  return v && std::string(v) == "1";
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lmlab: tokenizers, transformers and MoE training, losses and scaling laws for "
               "language-model research.\nRun 'lmlab <command> --help' for a command's options."};
  app.name("lmlab");
  app.require_subcommand(1);
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string hint = unknown_command_hint(app);
    std::cerr << "lmlab: error: " << (hint.empty() ? std::string(e.what()) + " (see --help)" : hint.substr(2))
              << "\n";
    return 2;
  } catch (const lmlab::UserError& e) {
    std::cerr << "lmlab: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "lmlab: internal error: " << (debug_requested() ? e.what() : first_line(e.what_without_backtrace()))
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lmlab: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
