// The one check every command that writes a directory makes before it writes anything, so that
// bad paths never cost the user data (docs/conventions.md, "Output directories"):
//   * the output may not be, or contain, any of the command's inputs (compared after symlinks,
//     "..", "." and a trailing "/" are resolved), --force or not: replacing or filling it would
//     delete or corrupt what the command reads;
//   * an existing output must be a directory, and one that is not empty must hold only entries
//     the command itself writes (its earlier output). Anything else means lmlab did not write it:
//     it is replaced or written into only with --force, and never when the output lies inside an
//     input (a run's tb/ is part of the run).
// A new output inside an input directory (an export into <run>/hf) is fine: commands read named
// files of their inputs, so callers list as inputs the directories actually read (a run's
// resolved checkpoint as well as the run).
#pragma once
#include <string>
#include <vector>

namespace lmlab {

// A path as the user gave it, with the option or key that named it ("--checkpoint", "train.init_from").
struct NamedPath {
  std::string option;
  std::string path;
};

struct OutputDirCheck {
  NamedPath output;
  std::vector<NamedPath> inputs;  // paths the command reads (empty paths are skipped)
  // Top-level names the command writes into the output ("config.json", "checkpoints"); a
  // directory holding only these (and their ".tmp.<pid>" leftovers) is lmlab's earlier output.
  std::vector<std::string> own_entries;
  bool force = false;
};

// UserError naming the option(s) and both paths when the output may not be written.
void check_output_dir(const OutputDirCheck& check);

// For commands that write one file (`tokenizer train --output`): UserError when it is one of
// `inputs`, which the atomic write would replace with the output. "" and "-" (stdin, stdout)
// are skipped.
void check_output_file(const NamedPath& output, const std::vector<NamedPath>& inputs);

}  // namespace lmlab
