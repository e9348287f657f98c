// Hugging Face tokenizer.json (byte-level BPE) <-> Model.
//
// We write: "model": {"type": "BPE", "vocab": {token: id}, "merges": ["a b", ...]} with tokens in
// GPT-2's byte->unicode form; special tokens in "added_tokens" (special: true) and in the vocab;
// "pre_tokenizer": Sequence[Split(Regex, Isolated), Digits(individual) if enabled,
// ByteLevel(use_regex: false)] so HF splits exactly as we do; "decoder": ByteLevel.
// Scaffold-BPE extension, written only for Scaffold-BPE (HF tokenizers rejects a file with an
// unknown top-level key, so plain-BPE files have none and load in HF unchanged):
//   "lmlab": {"algo": "scaffold", "scaffold_tokens": [ids], "scaffold_counts": [standalone counts]}
// Scaffold tokens are in the vocab (ids after V and the specials) because merges refer to them.
// We read the same, plus ByteLevel(use_regex: true) (the GPT-2 pattern) and merges as pairs.
#pragma once
#include <string>

#include "lmlab/tokenizer/model.h"

namespace lmlab::tokenizer {

// UserError "<name>: <field>: <problem>" (or "<name>: byte N: ..." for malformed JSON).
Model parse_tokenizer_json(const std::string& text, const std::string& name);
Model read_tokenizer_json(const std::string& path);
std::string to_tokenizer_json(const Model& model);

}  // namespace lmlab::tokenizer
