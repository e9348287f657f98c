// lmlab export hf: a checkpoint -> a Hugging Face LlamaForCausalLM (GPT2LMHeadModel, MixtralForCausalLM) directory
// (eval::write_hf_export, docs/interop.md), written through AtomicDir. With
// --reference it also writes reference_logits.safetensors (our logits on a fixed sequence) for
// bench/check_hf_export.py to compare against transformers.
#include <iostream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/eval/export_hf.h"
#include "lmlab/model/safetensors.h"
#include "lmlab/train/checkpoint.h"

namespace lmlab::cli {

namespace {

struct ExportOptions {
  std::string checkpoint, output, tokenizer;
  bool reference = false, force = false;
};

void run_export_hf(const ExportOptions& o) {
  // The run named and the checkpoint read in it: an export may go into <run>/hf, not over checkpoints/.
  check_output_dir({{"--output", o.output},
                    {{"--checkpoint", o.checkpoint}, {"--checkpoint", train::resolve_checkpoint(o.checkpoint)}},
                    eval::hf_export_files(),
                    o.force});
  train::InferenceModel m = train::load_for_inference(o.checkpoint, torch::kCPU);
  const ModelConfig& cfg = m.model->config();
  eval::check_hf_exportable(cfg);
  model::NamedTensors ours;
  for (const auto& p : m.model->named_parameters()) ours.emplace_back(p.key(), p.value());

  AtomicDir out(o.output);
  const std::string dir = out.staging();
  const size_t n_tensors = eval::write_hf_export(dir, cfg, ours, o.tokenizer.empty() ? m.tokenizer_path : o.tokenizer);
  if (o.reference) {
    // A fixed sequence of in-vocabulary ids spread over the vocabulary.
    const int64_t T = std::min<int64_t>(32, cfg.max_seq_len);
    torch::Tensor ids = torch::arange(T, torch::kLong).mul(7919).remainder(cfg.vocab_size).view({1, T});  // (1, T)
    torch::NoGradGuard no_grad;
    torch::Tensor logits = m.model->forward(ids).to(torch::kFloat).contiguous();  // (1, T, V)
    model::save_safetensors(dir + "/reference_logits.safetensors", {{"input_ids", ids}, {"logits", logits}});
  }
  out.commit();
  std::cerr << "export: wrote " << o.output << " (" << (cfg.ffn.type == "moe" ? "MixtralForCausalLM" : cfg.arch == "gpt2" ? "GPT2LMHeadModel" : "LlamaForCausalLM") << ", " << n_tensors << " tensors, step " << m.step
            << ")\n";
}

}  // namespace

void add_export_commands(CLI::App& app) {
  auto* e = app.add_subcommand("export", "Export a checkpoint to other formats");
  e->require_subcommand(1);
  auto o = std::make_shared<ExportOptions>();
  auto* hf = e->add_subcommand("hf", "Export a dense model as a Hugging Face Llama (arch gpt2: GPT-2; type moe: Mixtral)");
  hf->add_option("--checkpoint", o->checkpoint, "Checkpoint or run directory")->required();
  hf->add_option("--output", o->output, "Output directory (an earlier export there is replaced)")->required();
  hf->add_option("--tokenizer", o->tokenizer,
                 "tokenizer.json to export in place of the checkpoint's (a plain BPE one for a Scaffold-BPE run; "
                 "its ids must fit the model)");
  hf->add_flag("--force", o->force, "Replace --output even when it holds files that are not an export");
  hf->add_flag("--reference", o->reference, "Also write reference_logits.safetensors for bench/check_hf_export.py");
  hf->callback([o] { run_export_hf(*o); });
}

}  // namespace lmlab::cli
