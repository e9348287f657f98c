// `lmlab data prepare`: text files -> DIR/train.bin + DIR/val.bin (token shards, shards.h),
// DIR/meta.json and DIR/tokenizer.json (a copy, so the data directory is self-contained).
// Every document is followed by the tokenizer's <|endoftext|> id.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmlab::data {

struct PrepareOptions {
  std::string tokenizer;
  std::vector<std::string> inputs;
  std::vector<std::string> val_inputs;  // when given, the validation split is these files
  std::string output;
  double val_fraction = 0.05;           // else the last ceil(fraction * n) of the n documents
  // How each file splits into documents: a name of documents.h's rules ("auto", "eot",
  // "heading", "blank", "line", "file"); auto picks one per file.
  std::string doc_split = "auto";
  int threads = 0;  // 0 = hardware concurrency; the output is the same for every count
};

// Returns the meta.json it wrote: {"vocab_size", "eot_id", "id_bytes", "train": {"file",
// "tokens", "documents"}, "val": {...}, "tokenizer": "tokenizer.json", "inputs": [...],
// "val_inputs": [...], "doc_split": {"inputs": [rule per file], "val_inputs": [...]}}.
nlohmann::json prepare_data(const PrepareOptions& options);

// The files prepare_data writes into the output: a directory holding only these is earlier
// prepared data that `lmlab data prepare` may overwrite (common/output_dir.h).
const std::vector<std::string>& prepare_output_files();

}  // namespace lmlab::data
