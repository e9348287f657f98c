// SFT prompts, tokens and batches (template in sft_examples.h).
#include "lmlab/train/tasks/sft_examples.h"

#include <algorithm>

#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/losses.h"

namespace lmlab::train {

SftText sft_text(const data::Instruction& ex) {
  std::string p = ex.input.empty()
                      ? "Below is an instruction that describes a task. Write a response that appropriately "
                        "completes the request.\n\n"
                      : "Below is an instruction that describes a task, paired with an input that provides further "
                        "context. Write a response that appropriately completes the request.\n\n";
  for (const auto& [user, assistant] : ex.history)
    p += "### Instruction:\n" + user + "\n\n### Response:\n" + assistant + "\n\n";
  p += "### Instruction:\n" + ex.instruction + "\n\n";
  if (!ex.input.empty()) p += "### Input:\n" + ex.input + "\n\n";
  p += "### Response:\n";
  return {p, ex.output};
}

SftExample tokenize_sft(const tokenizer::Tokenizer& tok, const data::Instruction& ex, int64_t eot, int64_t seq_len) {
  SftText text = sft_text(ex);
  SftExample out;
  for (uint32_t id : tok.encode(text.prompt)) out.ids.push_back(id);
  out.response_start = static_cast<int64_t>(out.ids.size());
  for (uint32_t id : tok.encode(text.response)) out.ids.push_back(id);
  out.ids.push_back(eot);
  if (static_cast<int64_t>(out.ids.size()) > seq_len + 1) out.ids.resize(static_cast<size_t>(seq_len + 1));
  if (out.response_start >= static_cast<int64_t>(out.ids.size())) out.ids.clear();
  return out;
}

data::NamedBatch sft_batch(const std::vector<const SftExample*>& examples, int64_t eot, bool response_only) {
  int64_t T = 0;
  for (const auto* e : examples) T = std::max<int64_t>(T, static_cast<int64_t>(e->ids.size()) - 1);
  const int64_t B = static_cast<int64_t>(examples.size());
  torch::Tensor x = torch::full({B, T}, eot, torch::kInt64);           // (B, T)
  torch::Tensor y = torch::full({B, T}, kIgnoreIndex, torch::kInt64);  // (B, T)
  auto xa = x.accessor<int64_t, 2>();
  auto ya = y.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& ids = examples[b]->ids;
    for (int64_t t = 0; t + 1 < static_cast<int64_t>(ids.size()); ++t) {
      xa[b][t] = ids[t];
      if (!response_only || t + 1 >= examples[b]->response_start) ya[b][t] = ids[t + 1];
    }
  }
  data::NamedBatch out;
  out.tensors["x"] = x;
  out.tensors["y"] = y;
  return out;
}

}  // namespace lmlab::train
