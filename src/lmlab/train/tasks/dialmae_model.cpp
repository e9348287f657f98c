// The Dial-MAE encoder + shallow decoder (see dialmae_model.h).
#include "lmlab/train/tasks/dialmae_model.h"

#include "lmlab/train/losses.h"

namespace lmlab::train {

MaskedCe masked_ce(model::EncoderImpl& encoder, const torch::Tensor& hidden, const torch::Tensor& labels) {
  torch::Tensor masked = labels.ne(kIgnoreIndex);                                  // (B, T)
  torch::Tensor logits = encoder.mlm_logits(hidden.index({masked})).to(torch::kFloat32);  // (M, V)
  torch::Tensor target = labels.masked_select(masked);                              // (M)
  torch::Tensor sum = torch::nn::functional::cross_entropy(
      logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  auto f64 = logits.options().dtype(torch::kFloat64);
  return {sum, torch::tensor(static_cast<double>(target.size(0)), f64),
          logits.argmax(1).eq(target).sum().to(torch::kFloat64)};
}

DialMaeModelImpl::DialMaeModelImpl(const ModelConfig& cfg, int64_t decoder_layers) {
  backbone = register_module("backbone", model::Encoder(cfg));
  auto list = register_module("decoder", torch::nn::ModuleList());
  auto bo = model::bidirectional_block_options(cfg, /*post_norm=*/true);  // a BertLayer, as the encoder's
  auto ffn = model::gelu_ffn_options(cfg);
  for (int64_t l = 0; l < decoder_layers; ++l) {
    model::Block b(bo, l, [&] { return std::make_shared<model::DenseFfnImpl>(ffn); });
    list->push_back(b);
    decoder.push_back(b);
  }
}

torch::Tensor DialMaeModelImpl::embed(const torch::Tensor& ids) {
  model::EncoderImpl& e = *backbone;
  const int64_t T = ids.size(1);
  torch::Tensor x = e.tok_emb(ids) + e.pos_emb(torch::arange(T, ids.options())) + e.seg_emb(torch::zeros_like(ids));
  x = e.emb_norm(x);  // (B, T, C)
  const double p = e.config().dropout;
  return p > 0 && is_training() ? torch::dropout(x, p, true) : x;
}

torch::Tensor DialMaeModelImpl::decode(const torch::Tensor& cls, const torch::Tensor& response_ids,
                                       const torch::Tensor& response_pad) {
  torch::Tensor rest = embed(response_ids).narrow(1, 1, response_ids.size(1) - 1);  // (B, Tr-1, C)
  torch::Tensor x = torch::cat({cls.unsqueeze(1), rest}, 1);                       // (B, Tr, C)
  model::BlockContext ctx;
  ctx.token_ids = response_ids;
  ctx.pad_mask = response_pad;
  for (auto& block : decoder) x = block->forward(x, ctx);
  return x;
}

DialMaeLoss dialmae_loss(DialMaeModelImpl& m, const data::NamedBatch& b, const torch::Tensor& cls_order) {
  model::BackboneInput in;
  in.ids = b.at("ctx_ids");
  in.pad_mask = b.at("ctx_pad");
  torch::Tensor h = m.backbone->hidden(in);  // (B, Tc, C)
  DialMaeLoss out{masked_ce(*m.backbone, h, b.at("ctx_labels")), {}};
  if (m.decoder.empty()) return out;
  torch::Tensor cls = h.select(1, 0);  // (B, C), not detached: L_dec trains the encoder through it
  if (cls_order.defined()) cls = cls.index_select(0, cls_order);
  torch::Tensor g = m.decode(cls, b.at("resp_ids"), b.at("resp_pad"));  // (B, Tr, C)
  out.dec = masked_ce(*m.backbone, g, b.at("resp_labels"));
  return out;
}

}  // namespace lmlab::train
