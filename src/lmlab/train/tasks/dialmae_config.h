// [task.dialmae] and [task.retrieval]: the options of the Dial-MAE post-training task and of the
// dual-tower retrieval fine-tuning (docs/dialmae.md; defaults from the official code, §4 of
// ../shared/papers/uniattn-pyra-visdit-dialmae-hc3.md).
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct DialMaeConfig {
  std::string objective = "dialmae";
  double encoder_mask_ratio = 0.30;
  double decoder_mask_ratio = 0.75;
  int64_t decoder_layers = 1;
  double decoder_weight = 1.0;
  int64_t response_len = 64;
  int64_t num_window = 6;
  int64_t max_window = 20;
  bool whole_word = true;
  double replace_mask = 0.8;
  double replace_random = 0.1;

  template <class V>
  void visit(V& v) {
    v.field("objective", objective,
            "dialmae = encoder MLM on [CLS] context [SEP] + shallow decoder reconstructing the response from the "
            "encoder's [CLS]; mlm = plain MLM on [CLS] context [SEP] response [SEP] (the BERT-FP-style baseline)",
            {"dialmae", "mlm"});
    v.field("encoder_mask_ratio", encoder_mask_ratio, "share of context tokens masked (paper: 0.30)");
    v.field("decoder_mask_ratio", decoder_mask_ratio, "share of response tokens masked (paper: Ubuntu 0.75, E-commerce 0.45)");
    v.field("decoder_layers", decoder_layers, "fresh bidirectional decoder layers (paper: Ubuntu 1, E-commerce 2)");
    v.field("decoder_weight", decoder_weight, "L = L_enc + decoder_weight * L_dec (paper: 1.0)");
    v.field("response_len", response_len, "[CLS] response [SEP] is cut to this many tokens, keeping the first (paper: 64)");
    v.field("num_window", num_window, "sliding windows: distinct window sizes drawn per start utterance (paper: 6)");
    v.field("max_window", max_window, "sliding windows: largest window, in utterances (paper: 20)");
    v.field("whole_word", whole_word, "mask whole words (a word starts at a token beginning with a space or punctuation)");
    v.field("replace_mask", replace_mask, "of the masked tokens, share replaced by [MASK] (0.8)");
    v.field("replace_random", replace_random, "share replaced by a random token (0.1); the rest stay as they are");
  }
};

struct RetrievalConfig {
  int64_t response_len = 64;
  int64_t min_context_tokens = 4;

  template <class V>
  void visit(V& v) {
    v.field("response_len", response_len, "[CLS] response [SEP] is cut to this many tokens, keeping the first");
    v.field("min_context_tokens", min_context_tokens,
            "prefix examples whose context has fewer tokens are skipped (official code: more than 3)");
  }
};

}  // namespace lmlab
