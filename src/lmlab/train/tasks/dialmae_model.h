// Dial-MAE (Su et al., NAACL 2024): an asymmetric masked auto-encoder for dialogue retrieval.
//   encoder  h = Enc([CLS] mask_enc(context) [SEP])                       (B, Tc, C)
//            L_enc = CE(mlm_head(h)[masked], context[masked])
//   decoder  H0 = [ h[:, 0] ; Emb(mask_dec([CLS] response [SEP]))[1:] ]    (B, Tr, C)
//            g  = DecoderLayers(H0)        fresh bidirectional blocks, 1-2 of them
//            L_dec = CE(mlm_head(g)[masked], response[masked])
//   L = L_enc + decoder_weight * L_dec
// Emb (word + position + segment, LayerNorm, dropout) and the MLM head are the encoder's own
// (shared, the head tied to the word embeddings); L_dec's gradient reaches the encoder only
// through h[:, 0] and the shared parts, so [CLS] must carry what the response needs.
// Module tree {"backbone": encoder, "decoder": blocks}: retrieval (and classify) start from the
// backbone with train.init_from; the decoder is dropped then.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "lmlab/data/batch_source.h"
#include "lmlab/model/encoder.h"

namespace lmlab::train {

// Sum of the cross-entropy over the rows whose label is not kIgnoreIndex, their count and how
// many the argmax got right (all float64 scalars except `sum`, float32).
struct MaskedCe {
  torch::Tensor sum, count, right;
  torch::Tensor mean() const { return (sum / count.clamp_min(1)).to(torch::kFloat32); }
};
MaskedCe masked_ce(model::EncoderImpl& encoder, const torch::Tensor& hidden, const torch::Tensor& labels);

class DialMaeModelImpl : public torch::nn::Module {
 public:
  DialMaeModelImpl(const ModelConfig& cfg, int64_t decoder_layers);

  // The encoder's input embedding of ids (B, T) -> (B, T, C) (segment 0).
  torch::Tensor embed(const torch::Tensor& ids);
  // Decoder states (B, Tr, C) of the masked response with `cls` (B, C) at position 0.
  torch::Tensor decode(const torch::Tensor& cls, const torch::Tensor& response_ids, const torch::Tensor& response_pad);

  model::Encoder backbone{nullptr};
  std::vector<model::Block> decoder;
};
TORCH_MODULE(DialMaeModel);

// The batch a dialmae step reads: "ctx_ids", "ctx_pad", "ctx_labels", "resp_ids", "resp_pad",
// "resp_labels" (all (B, T*), labels kIgnoreIndex where not masked).
struct DialMaeLoss {
  MaskedCe enc, dec;
};
// `cls_order` (B) int64, when defined, feeds the decoder the [CLS] state of row cls_order[b]
// instead of row b (the test that L_dec depends on [CLS]).
DialMaeLoss dialmae_loss(DialMaeModelImpl& m, const data::NamedBatch& b, const torch::Tensor& cls_order = {});

}  // namespace lmlab::train
