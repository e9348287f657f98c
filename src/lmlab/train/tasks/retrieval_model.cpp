// The dual-tower retriever and file scoring (see retrieval_model.h).
#include "lmlab/train/tasks/retrieval_model.h"

#include <map>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/data/text_records.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/model_state.h"

namespace lmlab::train {

RetrievalModelImpl::RetrievalModelImpl(const ModelConfig& cfg) {
  backbone = register_module("backbone", model::Encoder(cfg));
  response = register_module("response", model::Encoder(cfg));
}

torch::Tensor RetrievalModelImpl::cls(model::EncoderImpl& tower, const torch::Tensor& ids, const torch::Tensor& pad_mask) {
  model::BackboneInput in;
  in.ids = ids;
  in.pad_mask = pad_mask;
  return tower.hidden(in).select(1, 0);  // (B, C): last-layer [CLS]
}

torch::Tensor RetrievalModelImpl::embed(const std::vector<std::vector<int64_t>>& seqs, bool context_tower,
                                        const EncoderSpecials& sp, int64_t batch, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model::EncoderImpl& tower = context_tower ? *backbone : *response;
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < seqs.size(); i += static_cast<size_t>(batch)) {
    std::vector<const std::vector<int64_t>*> chunk;
    for (size_t j = i; j < std::min(seqs.size(), i + static_cast<size_t>(batch)); ++j) chunk.push_back(&seqs[j]);
    data::NamedBatch b = pad_sequences(chunk, sp).to(device);
    parts.push_back(cls(tower, b.at("ids"), b.at("pad_mask")).to(torch::kFloat32));
  }
  return parts.empty() ? torch::zeros({0, backbone->config().d_model}) : torch::cat(parts);  // (N, C)
}

std::vector<int64_t> RetrievalText::context(const std::vector<std::string>& utterances) const {
  TokenTurns turns;
  for (const auto& u : utterances) {
    std::vector<uint32_t> ids = tok->encode(u);
    turns.emplace_back(ids.begin(), ids.end());
  }
  return context_sequence(turns, 0, static_cast<int64_t>(turns.size()), sp, context_len);
}

std::vector<int64_t> RetrievalText::response(const std::string& text) const {
  std::vector<uint32_t> ids = tok->encode(text);
  return response_sequence(std::vector<int64_t>(ids.begin(), ids.end()), sp, response_len);
}

RselMetrics score_rsel_file(RetrievalModelImpl& m, const RetrievalText& text, const std::string& path,
                            const torch::Device& device) {
  std::vector<data::ResponseExample> ex = data::read_response_tsv(path);
  auto groups = context_groups(ex);
  std::map<std::string, int64_t> response_row;
  std::vector<std::vector<int64_t>> contexts, responses;
  for (const auto& [first, end] : groups) contexts.push_back(text.context(ex[first].context));
  for (const auto& e : ex)
    if (response_row.emplace(e.response, static_cast<int64_t>(responses.size())).second)
      responses.push_back(text.response(e.response));
  torch::Tensor zc = m.embed(contexts, true, text.sp, text.batch, device).cpu().to(torch::kFloat64);    // (G, C)
  torch::Tensor zr = m.embed(responses, false, text.sp, text.batch, device).cpu().to(torch::kFloat64);  // (R, C)
  std::vector<RankingGroup> scored;
  for (size_t g = 0; g < groups.size(); ++g) {
    RankingGroup rg;
    for (size_t i = groups[g].first; i < groups[g].second; ++i) {
      rg.scores.push_back(zc[static_cast<int64_t>(g)].dot(zr[response_row.at(ex[i].response)]).item<double>());
      rg.labels.push_back(ex[i].label);
    }
    scored.push_back(std::move(rg));
  }
  return rsel_metrics(scored);
}

LoadedRetriever load_retriever(const std::string& dir, const torch::Device& device) {
  const std::string ckpt = resolve_checkpoint(dir);
  CheckpointData data = read_checkpoint(ckpt);
  Experiment exp;
  config::Schema schema = config::Schema::of(exp);
  config::apply_toml_text(schema, data.config_toml, ckpt + "/config.toml");
  if (exp.run.task != "retrieval")
    throw_user_error(ckpt, "is a \"" + exp.run.task + "\" checkpoint; lmlab retrieve needs a \"retrieval\" one");
  if (data.tokenizer_path.empty()) throw_user_error(ckpt, "holds no tokenizer.json");
  LoadedRetriever r;
  r.tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(data.tokenizer_path));
  r.text = {r.tok.get(), EncoderSpecials{static_cast<int64_t>(r.tok->vocab_size())}, exp.data.seq_len,
            exp.task.retrieval.response_len, exp.train.batch_size};
  r.model = RetrievalModel(exp.model);
  load_model_state(*r.model, data.model, ckpt + "/model.safetensors");
  r.model->to(device);
  r.model->eval();
  return r;
}

}  // namespace lmlab::train
