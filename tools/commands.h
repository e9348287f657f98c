// The `lmlab` command's areas. Each area registers its subcommands in its own file
// (tools/cmd_<area>.cpp); main() in lmlab_core.cpp only wires them together
// (the tokenizer area also runs in the torch-free front, lmlab.cpp).
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace lmlab::cli {

void add_tokenizer_commands(CLI::App& app);
void add_data_commands(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_scaling_commands(CLI::App& app);
void add_export_commands(CLI::App& app);
void add_import_commands(CLI::App& app);     // cmd_import.cpp
void add_quickstart_command(CLI::App& app);
void add_uniattn_commands(CLI::App& app);
void add_results_commands(CLI::App& app);
void add_detect_commands(CLI::App& app);
void add_retrieve_commands(CLI::App& app);    // cmd_retrieve.cpp
void add_rsel_build_command(CLI::App& data);  // cmd_retrieve.cpp: `lmlab data rsel-build`

// "lmlab 0.1.0 / libtorch X / CUDA: ..." as printed by `lmlab --version`.
std::string version_text();

}  // namespace lmlab::cli
