// [task.*] config sections: the options of the shared tasks (the task itself is [run] task).
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/train/tasks/adapt_config.h"
#include "lmlab/train/tasks/fuda_config.h"
#include "lmlab/train/tasks/dialmae_config.h"

namespace lmlab {

struct MlmConfig {
  double mask_ratio = 0.15;
  bool whole_word = true;
  double replace_mask = 0.8;
  double replace_random = 0.1;

  template <class V>
  void visit(V& v) {
    v.field("mask_ratio", mask_ratio, "share of tokens to predict (BERT 0.15)");
    v.field("whole_word", whole_word, "mask every token of a chosen word (a word starts at a token beginning "
                                      "with a space, newline or punctuation)");
    v.field("replace_mask", replace_mask, "of the chosen tokens, share replaced by [MASK] (BERT 0.8)");
    v.field("replace_random", replace_random, "share replaced by a random token (BERT 0.1); the rest stay as they are");
  }
};

struct ClassifyConfig {
  std::string mode = "finetune";
  int64_t n_classes = 0;
  bool cls_token = true;

  template <class V>
  void visit(V& v) {
    v.field("mode", mode,
            "finetune = everything trains; linear_probe = frozen backbone, linear head; frozen = frozen "
            "backbone, two-layer MLP head",
            {"finetune", "linear_probe", "frozen"});
    v.field("n_classes", n_classes, "number of labels; 0 = 1 + the largest label in the training files");
    v.field("cls_token", cls_token, "text: [CLS] text [SEP], head on [CLS]; false = the HC3 Plus code's quirk "
                                    "(add_special_tokens=False): the text alone, head on its first token");
  }
};

struct SftConfig {
  std::string loss_on = "response";
  double val_fraction = 0.05;

  template <class V>
  void visit(V& v) {
    v.field("loss_on", loss_on, "response = next-token loss on the response tokens only; all = every token",
            {"response", "all"});
    v.field("val_fraction", val_fraction,
            "without data.eval_files: share of the training examples held out (every k-th) for the response loss");
  }
};

struct TaskConfig {
  MlmConfig mlm;
  ClassifyConfig classify;
  SftConfig sft;
  AdaptConfig adapt;
  FudaConfig fuda;
  DialMaeConfig dialmae;
  RetrievalConfig retrieval;

  template <class V>
  void visit(V& v) {
    v.section("mlm", mlm);
    v.section("classify", classify);
    v.section("sft", sft);
    v.section("adapt", adapt);
    v.section("fuda", fuda);
    v.section("dialmae", dialmae);
    v.section("retrieval", retrieval);
  }
};

}  // namespace lmlab
