// The built-in tasks, one file each; TaskRegistry::instance() registers them all.
#pragma once
#include "lmlab/train/task.h"

namespace lmlab::train {

void register_builtin_tasks(TaskRegistry& r);  // tasks/registry.cpp

void register_lm_task(TaskRegistry& r);        // lm_task.cpp: causal LM on token windows
void register_sft_task(TaskRegistry& r);       // sft_task.cpp: decoder on instruction data
void register_mlm_task(TaskRegistry& r);       // mlm_task.cpp: encoder masked-LM pre-training
void register_classify_task(TaskRegistry& r);  // classify_task.cpp: text or image classification
void register_adapt_task(TaskRegistry& r);     // adapt_task.cpp: PYRA / LoRA adaptation of a ViT
void register_fuda_task(TaskRegistry& r);      // fuda_task.cpp: few-shot domain adaptation (PCS, C-VisDiT)
void register_dialmae_task(TaskRegistry& r);   // dialmae_task.cpp: Dial-MAE / MLM post-training on dialogues
void register_retrieval_task(TaskRegistry& r);  // retrieval_task.cpp: dual-tower dialogue retriever

}  // namespace lmlab::train
