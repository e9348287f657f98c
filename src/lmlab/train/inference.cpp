// load_for_inference: a checkpoint (or a run's latest) -> a model in eval mode; its checked tokenizer.
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/config/config.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/model_state.h"

namespace lmlab::train {

InferenceModel load_for_inference(const std::string& dir, const torch::Device& device,
                                  const std::vector<std::string>& overrides) {
  const std::string ckpt = resolve_checkpoint(dir);
  CheckpointData data = read_checkpoint(ckpt);
  InferenceModel m;
  config::Schema schema = config::Schema::of(m.exp);
  config::apply_toml_text(schema, data.config_toml, ckpt + "/config.toml");
  config::apply_overrides(schema, overrides);
  m.model = model::Transformer(m.exp.model);
  load_model_state(*m.model, data.model, ckpt + "/model.safetensors");
  m.model->to(device);
  m.model->eval();
  m.tokenizer_path = data.tokenizer_path;
  m.checkpoint = ckpt;
  m.step = data.trainer.value("step", int64_t{0});
  return m;
}

tokenizer::Tokenizer load_tokenizer(const InferenceModel& m) {
  if (m.tokenizer_path.empty()) throw_user_error(m.checkpoint, "checkpoint has no tokenizer.json");
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(m.tokenizer_path);
  tok.check_fits_model(m.tokenizer_path, m.exp.model.vocab_size, m.checkpoint + "/config.toml");
  return tok;
}

}  // namespace lmlab::train
