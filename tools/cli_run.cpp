// The root command and the exit-status mapping shared by the front and the core (cli_run.h).
#include "cli_run.h"

#include <iostream>
#include <vector>

#include "lmlab/common/error.h"

namespace lmlab::cli {
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

}  // namespace

void init_root_app(CLI::App& app) {
  app.description("lmlab: tokenizers, transformers and MoE training, losses and scaling laws for "
                  "language-model research.\nRun 'lmlab <command> --help' for a command's options.");
  app.name("lmlab");
  app.require_subcommand(1);
}

std::string describe_plainly(const std::exception& e) { return e.what(); }

int run_app(CLI::App& app, int argc, char** argv, DescribeInternal describe) {
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
  } catch (const std::exception& e) {
    std::cerr << "lmlab: internal error: " << describe(e) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace lmlab::cli
