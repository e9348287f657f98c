// The BERT-style encoder (see encoder.h and docs/model.md).
#include "lmlab/model/encoder.h"

#include "lmlab/common/error.h"
#include "lmlab/model/init.h"

namespace lmlab::model {

namespace {
void validate_encoder(const ModelConfig& c) {
  validate_transformer_shape(c);
  auto fail = [](const std::string& problem) { throw UserError("[model] " + problem); };
  if (c.vocab_size <= 0) fail("vocab_size must be > 0 (0 is only allowed when the trainer fills it in)");
  if (c.max_seq_len <= 0) fail("max_seq_len must be > 0");
  if (c.encoder.n_segments < 1) fail("encoder.n_segments must be >= 1");
}

torch::nn::Embedding embedding(int64_t n, int64_t dim, double std) {
  torch::nn::Embedding e(n, dim);
  torch::NoGradGuard no_grad;
  e->weight.normal_(0.0, std);
  return e;
}
}  // namespace

EncoderImpl::EncoderImpl(const ModelConfig& cfg) : cfg_(cfg) {
  validate_encoder(cfg);
  int64_t C = cfg.d_model;
  tok_emb = register_module("tok_emb", embedding(cfg.vocab_size, C, cfg.init_std));
  pos_emb = register_module("pos_emb", embedding(cfg.max_seq_len, C, cfg.init_std));
  seg_emb = register_module("seg_emb", embedding(cfg.encoder.n_segments, C, cfg.init_std));
  emb_norm = register_module("emb_norm", Norm(NormOptions::layer_norm(C, cfg.norm_eps)));
  auto list = register_module("blocks", torch::nn::ModuleList());
  auto bo = bidirectional_block_options(cfg, /*post_norm=*/true);
  auto ffn = gelu_ffn_options(cfg);
  for (int64_t l = 0; l < cfg.n_layer; ++l) {
    Block b(bo, l, [&] { return std::make_shared<DenseFfnImpl>(ffn); });
    list->push_back(b);
    blocks.push_back(b);
  }
  mlm_dense = register_module("mlm_dense", torch::nn::Linear(C, C));
  init_linear(mlm_dense, cfg.init_std);
  mlm_norm = register_module("mlm_norm", Norm(NormOptions::layer_norm(C, cfg.norm_eps)));
  mlm_bias = register_parameter("mlm_bias", torch::zeros({cfg.vocab_size}));
  if (cfg.encoder.tanh_pooler) {
    pooler = register_module("pooler", torch::nn::Linear(C, C));
    init_linear(pooler, cfg.init_std);
  }
}

torch::Tensor EncoderImpl::hidden(const BackboneInput& in) {
  const auto& ids = in.ids;
  TORCH_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kInt64, "Encoder: ids must be (B, T) int64");
  int64_t T = ids.size(1);
  if (T > cfg_.max_seq_len)
    throw UserError("[model] sequence of " + std::to_string(T) + " tokens is longer than max_seq_len (" +
                    std::to_string(cfg_.max_seq_len) + ") of this encoder");
  auto segments = in.segments.defined() ? in.segments : torch::zeros_like(ids);
  auto x = tok_emb(ids) + pos_emb(torch::arange(T, ids.options())) + seg_emb(segments);  // (B, T, C)
  x = emb_norm(x);
  if (cfg_.dropout > 0 && is_training()) x = torch::dropout(x, cfg_.dropout, true);
  BlockContext ctx;
  ctx.token_ids = ids;
  ctx.pad_mask = in.pad_mask;
  for (auto& block : blocks) x = block->forward(x, ctx);
  return x;
}

torch::Tensor EncoderImpl::mlm_logits(const torch::Tensor& hidden) {
  auto h = mlm_norm(torch::gelu(mlm_dense(hidden)));                    // (..., C)
  return torch::nn::functional::linear(h, tok_emb->weight, mlm_bias);  // (..., V)
}

torch::Tensor EncoderImpl::pool(const torch::Tensor& hidden) {
  auto cls = hidden.select(1, 0);  // (B, C)
  return pooler ? torch::tanh(pooler(cls)) : cls;
}

double EncoderImpl::train_flops_per_sample() const {
  int64_t T = cfg_.max_seq_len;
  double per_token = 0;
  for (const auto& b : blocks) per_token += b->attn->flops_per_token(T) + b->ffn->flops_per_token();
  double forward = static_cast<double>(T) * per_token;
  if (pooler) forward += 2.0 * static_cast<double>(pooler->weight.numel());
  return 3.0 * forward;
}

double EncoderImpl::mlm_flops_per_token() const {
  return 2.0 * static_cast<double>(mlm_dense->weight.numel() + tok_emb->weight.numel());
}

}  // namespace lmlab::model
