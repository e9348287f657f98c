// Every built-in task, registered once (explicit calls: static initialisers in a static
// library would be dropped by the linker).
#include "lmlab/train/tasks/tasks.h"

namespace lmlab::train {

void register_builtin_tasks(TaskRegistry& r) {
  register_lm_task(r);
  register_sft_task(r);
  register_mlm_task(r);
  register_classify_task(r);
  register_adapt_task(r);
  register_fuda_task(r);
  register_dialmae_task(r);
  register_retrieval_task(r);
}

}  // namespace lmlab::train
