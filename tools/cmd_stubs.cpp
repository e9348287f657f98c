// Command areas whose issues have not landed yet. Each moves to its own cmd_<area>.cpp when
// implemented; until then it says which issue brings it and exits 2.
#include "commands.h"

namespace lmlab::cli {

void add_tokenizer_commands(CLI::App& app) {
  auto* tok = app.add_subcommand("tokenizer", "Train, apply and inspect BPE / Scaffold-BPE tokenizers");
  tok->require_subcommand(1);
  for (const char* name : {"train", "encode", "decode", "stats"})
    add_unimplemented(*tok, name, std::string("tokenizer ") + name, "issue #3: tokenizers");
}

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare token shards for training");
  data->require_subcommand(1);
  add_unimplemented(*data, "prepare", "Tokenize text files into token shards", "issue #4: training core");
}

void add_eval_command(CLI::App& app) {
  add_unimplemented(app, "eval", "Perplexity and zero-shot tasks on a checkpoint", "issue #7: evaluation");
}

void add_generate_command(CLI::App& app) {
  add_unimplemented(app, "generate", "Sample text from a checkpoint", "issue #4: training core");
}

void add_scaling_commands(CLI::App& app) {
  auto* s = app.add_subcommand("scaling", "Temporal Scaling Law: fit and extrapolate loss curves");
  s->require_subcommand(1);
  add_unimplemented(*s, "fit", "Fit the law to a run's position_loss.jsonl", "issue #6: scaling law");
}

void add_export_commands(CLI::App& app) {
  auto* e = app.add_subcommand("export", "Export a checkpoint to other formats");
  e->require_subcommand(1);
  add_unimplemented(*e, "hf", "Export a dense model as a Hugging Face Llama", "issue #7: interoperability");
}

}  // namespace lmlab::cli
