// What both `lmlab` executables share (tools/lmlab.cpp, the torch-free front that runs the
// tokenizer commands, and tools/lmlab_core.cpp, everything else): the root command and the
// mapping of every failure onto the exit-status convention of lmlab/common/error.h
// (2: bad usage or input, 1: internal failure).
#pragma once
#include <CLI/CLI.hpp>
#include <exception>
#include <string>

namespace lmlab::cli {

// The root `lmlab` command with its name and description; no subcommands yet.
void init_root_app(CLI::App& app);

// How an internal failure reads on stderr after "lmlab: internal error: "; the core passes one
// that shortens libtorch's errors.
using DescribeInternal = std::string (*)(const std::exception&);
std::string describe_plainly(const std::exception& e);

// Parses argv, runs the chosen command and returns the process's exit status.
int run_app(CLI::App& app, int argc, char** argv, DescribeInternal describe = describe_plainly);

}  // namespace lmlab::cli
