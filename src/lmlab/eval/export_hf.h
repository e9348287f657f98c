// Export of a dense LLaMA-style lmlab model as a Hugging Face `LlamaForCausalLM`
// (config.json, generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json;
// docs/interop.md). Name mapping, ours -> HF (hf_llama_layout; import_hf.h reads it backwards):
//   tok_emb.weight                   -> model.embed_tokens.weight
//   blocks.N.attn_norm.weight        -> model.layers.N.input_layernorm.weight
//   blocks.N.attn.{wq,wk,wv,wo}.*    -> model.layers.N.self_attn.{q,k,v,o}_proj.*
//   blocks.N.ffn_norm.weight         -> model.layers.N.post_attention_layernorm.weight
//   blocks.N.ffn.{w1,w3,w2}.*        -> model.layers.N.mlp.{gate,up,down}_proj.*   (silu(w1 x) * w3 x)
//   norm.weight                      -> model.norm.weight
//   lm_head.weight (untied only)     -> lm_head.weight   (tied: tie_word_embeddings = true)
// Our RoPE already uses HF's rotate-half pairing (i with i + D/2, model/rope.h), so q/k rows
// need no permutation. GPT-2-style models export as GPT2LMHeadModel instead (export_gpt2.h),
// the plain top-k `moe` as MixtralForCausalLM (export_mixtral.h); other MoE FFNs are refused.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lmlab/model/model_config.h"
#include "lmlab/model/safetensors.h"
#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::eval {

// UserError unless `cfg` describes a model that exports: a dense FFN (for arch gpt2 what
// check_gpt2_exportable accepts) or the `moe` that check_mixtral_exportable accepts.
void check_hf_exportable(const ModelConfig& cfg);

// One tensor of the Llama layout: our name, the HF name and the shape both have.
struct HfTensorPlace {
  std::string ours, hf;
  std::vector<int64_t> shape;
};
// "(4, 8)": a tensor shape in the import's and export's shape-mismatch errors.
std::string shape_text(const std::vector<int64_t>& shape);

// Every tensor of a Llama with this config, in HF order; `intermediate` is the FFN width.
std::vector<HfTensorPlace> hf_llama_layout(const ModelConfig& cfg, int64_t intermediate);

// Renames `in` along `layout` (to_hf: ours -> HF, else HF -> ours), in layout order, float32,
// contiguous, on the CPU. UserError "<where(name)>: <problem>" for a missing, misshapen or
// unexpected tensor (where: the file it came from, or the command).
model::NamedTensors remap_llama_tensors(const std::vector<HfTensorPlace>& layout, bool to_hf,
                                        const model::NamedTensors& in,
                                        const std::function<std::string(const std::string&)>& where);

// Our parameters (names as in model->named_parameters()) -> HF Llama names, in HF order,
// float32, contiguous. UserError for a gpt2 model, or naming the tensor for a missing,
// unexpected or misshapen one.
model::NamedTensors to_hf_tensors(const ModelConfig& cfg, const model::NamedTensors& ours);

// The special tokens HF's generate() needs, as `lmlab generate` uses them: <|endoftext|> starts
// an empty prompt and stops generation (bos = eos, as GPT-2); pad is a padding special when the
// tokenizer has one (<|pad|>, <pad>, [PAD]). Absent ones are null in the JSON files.
struct HfSpecialToken {
  std::string content;
  uint32_t id = 0;
};
struct HfSpecialTokens {
  std::optional<HfSpecialToken> bos, eos, pad;
};
HfSpecialTokens hf_special_tokens(const tokenizer::Tokenizer& tok);
// {"bos_token_id", "eos_token_id", "pad_token_id"}: the ids, null where absent (every config.json
// and generation_config.json carries them).
nlohmann::json hf_special_token_ids(const HfSpecialTokens& sp);

// config.json of the export; `intermediate_size` is the FFN hidden width (rows of w1).
nlohmann::json hf_llama_config(const ModelConfig& cfg, int64_t intermediate_size, const HfSpecialTokens& sp);
// generation_config.json: the special ids and greedy decoding (`lmlab generate --temperature 0`).
nlohmann::json hf_generation_config(const HfSpecialTokens& sp);
// tokenizer_config.json for AutoTokenizer (PreTrainedTokenizerFast over tokenizer.json).
nlohmann::json hf_tokenizer_config(const ModelConfig& cfg, const HfSpecialTokens& sp);

// Writes every file of the export except reference logits into `dir` (an AtomicDir's staging
// directory): LlamaForCausalLM, GPT2LMHeadModel for arch gpt2, MixtralForCausalLM for type moe.
// Returns the number of tensors. A Scaffold-BPE tokenizer is a UserError naming it: HF's
// tokenizers cannot run the scaffold demolition, so AutoTokenizer would emit scaffold ids the
// model never saw (or, one day skipping our key, silently different ones); the caller may pass
// a plain BPE tokenizer.json instead (`lmlab export hf --tokenizer`).
size_t write_hf_export(const std::string& dir, const ModelConfig& cfg, const model::NamedTensors& ours,
                       const std::string& tokenizer_path);

// The names an export directory holds (write_hf_export's files and reference_logits.safetensors):
// a directory with only these is an earlier export that `lmlab export hf` may replace.
const std::vector<std::string>& hf_export_files();

}  // namespace lmlab::eval
