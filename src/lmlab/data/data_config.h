// [data] config section.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab {

struct DataConfig {
  std::string dir = "data/tinystories";
  int64_t seq_len = 256;
  std::vector<std::string> train_files;
  std::vector<std::string> eval_files;
  std::string tokenizer;

  template <class V>
  void visit(V& v) {
    v.field("dir", dir, "directory of token shards written by `lmlab data prepare`");
    v.field("seq_len", seq_len, "tokens per training window (record tasks: longest tokenised example)");
    v.field("train_files", train_files,
            "record tasks (classify, sft): training files — IDX images (labels file found by name), "
            "{\"text\",\"label\"} JSONL, instruction JSON/JSONL (docs/training.md)");
    v.field("eval_files", eval_files, "record tasks: held-out files, each scored on its own");
    v.field("tokenizer", tokenizer, "record tasks on text: the tokenizer.json that encodes them");
  }
};

}  // namespace lmlab
