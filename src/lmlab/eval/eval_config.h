// [eval] config section.
#pragma once
#include <cstdint>
#include <string>

#include "lmlab/config/config.h"

namespace lmlab {

struct EvalConfig {
  int64_t every = 100;
  int64_t windows = 64;
  bool per_epoch = false;
  std::string windows_at = "spread";

  template <class V>
  void visit(V& v) {
    v.field("every", every, "evaluate on the validation split every N steps (0 = never; always at the end)", config::at_least(0));
    v.field("per_epoch", per_epoch, "also evaluate at the end of every epoch (train.epochs runs)");
    v.field("windows", windows,
            "validation windows (of data.seq_len tokens) per eval: loss and position_loss.jsonl are means over them", config::at_least(1));
    v.field("windows_at", windows_at,
            "lm: where validation windows start: spread = evenly over the split (packed windows that may cross "
            "documents); doc_start = at document starts (after <|endoftext|>), positions past the first "
            "document's end left out of the per-position means (what the Temporal Scaling Law fits)",
            {"spread", "doc_start"});
  }
};

}  // namespace lmlab
