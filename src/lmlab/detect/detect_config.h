// `lmlab detect train --config F.toml`: the [detect] section (keys, defaults, help).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmlab/detect/ngram.h"

namespace lmlab::detect {

struct LmStatsConfig {
  std::string statistic = "loglik";
  int64_t max_tokens = 256;
  int64_t batch_size = 16;

  template <class V>
  void visit(V& v) {
    v.field("statistic", statistic,
            "loglik = mean log P(token | prefix); logrank = mean log rank of the token (GLTR)", {"loglik", "logrank"});
    v.field("max_tokens", max_tokens, "score at most the first max_tokens tokens of a text");
    v.field("batch_size", batch_size, "texts per forward pass");
  }
};

struct InstructConfig {
  std::string templates;
  bool vote = false;
  int64_t text_bytes = 600;
  int64_t batch_size = 8;

  template <class V>
  void visit(V& v) {
    v.field("templates", templates, "JSONL of instruction templates (configs/hc3/templates/<lang>.jsonl)");
    v.field("vote", vote, "predict with every template and take the majority (a tie counts as model); false = "
                          "one template per text, chosen by the hash of the text");
    v.field("text_bytes", text_bytes, "the text inside the prompt is cut to this many bytes (whole UTF-8 characters)");
    v.field("batch_size", batch_size, "prompts per forward pass");
  }
};

struct DetectConfig {
  std::string detector = "ngram";
  std::string out_dir;
  std::vector<std::string> train_files, val_files;
  std::string checkpoint;
  int64_t max_train = 0;
  int64_t seed = 1;
  std::string device = "cpu";
  double base_train_seconds = 0;
  NgramConfig ngram;
  LmStatsConfig lm_stats;
  InstructConfig instruct;

  template <class V>
  void visit(V& v) {
    v.field("detector", detector, "which detector (docs/hc3.md)", {"ngram", "lm_stats", "encoder", "instruct"});
    v.field("out_dir", out_dir, "the detector directory to write");
    v.field("train_files", train_files, "labelled texts to train on (HC3 Plus or HC3 JSONL); ngram only");
    v.field("val_files", val_files, "labelled texts to choose the lm_stats threshold on");
    v.field("checkpoint", checkpoint,
            "lm_stats: an lm run; encoder: a classify run; instruct: an sft run (trained with `lmlab train`)");
    v.field("max_train", max_train, "use at most this many training texts (0 = all; chosen by text hash)");
    v.field("seed", seed, "shuffling seed");
    v.field("device", device, "cpu or cuda for the neural detectors", {"cpu", "cuda"});
    v.field("base_train_seconds", base_train_seconds,
            "seconds the `lmlab train` runs behind the checkpoint took (reported as part of the training time)");
    v.section("ngram", ngram);
    v.section("lm_stats", lm_stats);
    v.section("instruct", instruct);
  }
};

struct DetectFile {
  DetectConfig detect;
  template <class V>
  void visit(V& v) {
    v.section("detect", detect);
  }
};

}  // namespace lmlab::detect
