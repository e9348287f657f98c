// The dual-tower dialogue retriever of Dial-MAE's fine-tuning (dialogue_finetune/modeling.py):
//   z_c = Enc_c([CLS] context [SEP])[:, 0]     z_r = Enc_r([CLS] response [SEP])[:, 0]    (B, C)
//   score(c, r) = z_c . z_r                    (dot product: no normalisation, no temperature)
// Two towers with their own weights ("backbone" = context, "response"), both started from the
// same (post-trained) encoder. Scoring a response-selection file embeds each distinct context
// and each distinct candidate once.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "lmlab/model/encoder.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/tasks/dialogue_examples.h"
#include "lmlab/train/tasks/rsel_metrics.h"

namespace lmlab::train {

class RetrievalModelImpl : public torch::nn::Module {
 public:
  explicit RetrievalModelImpl(const ModelConfig& cfg);
  // Embeddings (N, C) of sequences, `batch` at a time, by the context or the response tower.
  torch::Tensor embed(const std::vector<std::vector<int64_t>>& seqs, bool context_tower, const EncoderSpecials& sp,
                      int64_t batch, const torch::Device& device);
  // [CLS] rows (B, C) of a padded batch {"ids", "pad_mask"}.
  torch::Tensor cls(model::EncoderImpl& tower, const torch::Tensor& ids, const torch::Tensor& pad_mask);

  model::Encoder backbone{nullptr}, response{nullptr};
};
TORCH_MODULE(RetrievalModel);

// What scoring text needs besides the model: the tokenizer, its specials and the lengths.
struct RetrievalText {
  const tokenizer::Tokenizer* tok = nullptr;
  EncoderSpecials sp;
  int64_t context_len = 256, response_len = 64, batch = 64;
  std::vector<int64_t> context(const std::vector<std::string>& utterances) const;
  std::vector<int64_t> response(const std::string& text) const;
};

// Every context group of the TSV scored (rsel_metrics.h); the model in eval mode on `device`.
RselMetrics score_rsel_file(RetrievalModelImpl& m, const RetrievalText& text, const std::string& path,
                            const torch::Device& device);

// A retrieval checkpoint (or run directory) ready to embed: model in eval mode, tokenizer, lengths.
struct LoadedRetriever {
  RetrievalModel model{nullptr};
  std::unique_ptr<tokenizer::Tokenizer> tok;
  RetrievalText text;
};
LoadedRetriever load_retriever(const std::string& dir, const torch::Device& device);

}  // namespace lmlab::train
