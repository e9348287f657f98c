// The built-in tasks, one file each; TaskRegistry::instance() registers them all.
#pragma once
#include "lmlab/train/task.h"

namespace lmlab::train {

void register_builtin_tasks(TaskRegistry& r);  // tasks/registry.cpp

void register_lm_task(TaskRegistry& r);  // tasks/lm_task.cpp: causal LM on token windows

}  // namespace lmlab::train
