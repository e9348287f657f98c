// lmlab import hf --input DIR --output CKPT: a Hugging Face LlamaForCausalLM, GPT2LMHeadModel or
// MixtralForCausalLM directory -> an lmlab checkpoint directory (eval::import_hf, docs/interop.md).
#include <iostream>

#include "commands.h"
#include "lmlab/eval/import_hf.h"

namespace lmlab::cli {

namespace {

struct ImportOptions {
  std::string input, output;
  bool force = false;
};

void run_import_hf(const ImportOptions& o) {
  eval::ImportSummary s = eval::import_hf(o.input, o.output, o.force);
  std::cerr << "import: wrote " << o.output << " (" << s.architecture << ", " << s.n_tensors << " tensors, "
            << s.model.n_layer << " layers, d_model " << s.model.d_model << ", vocab " << s.model.vocab_size;
  if (s.model.ffn.type == "moe") std::cerr << ", " << s.model.ffn.n_experts << " experts, top " << s.model.ffn.top_k;
  if (s.model.arch == "gpt2") std::cerr << ", model.bias = " << (s.model.bias ? "true" : "false (every bias is zero)");
  std::cerr << ")\n";
}

}  // namespace

void add_import_commands(CLI::App& app) {
  auto* i = app.add_subcommand("import", "Import a checkpoint from other formats");
  i->require_subcommand(1);
  auto o = std::make_shared<ImportOptions>();
  auto* hf = i->add_subcommand("hf", "Import a Hugging Face LlamaForCausalLM, GPT2LMHeadModel or MixtralForCausalLM directory as an lmlab checkpoint");
  hf->add_option("--input", o->input, "Directory with config.json, model.safetensors (or shards + index), tokenizer.json")
      ->required();
  hf->add_option("--output", o->output, "Checkpoint directory to write (an earlier checkpoint there is replaced)")
      ->required();
  hf->add_flag("--force", o->force, "Replace --output even when it holds files that are not a checkpoint's");
  hf->callback([o] { run_import_hf(*o); });
}

}  // namespace lmlab::cli
