// --print-params from the config alone (see print_params.h).
#include "lmlab/train/print_params.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/data/shards.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/param_count.h"
#include "lmlab/train/param_patterns.h"
#include "lmlab/train/size_check.h"

namespace lmlab::train {

Experiment with_decoder_vocab(Experiment exp) {
  if (exp.model.vocab_size != 0 || exp.model.family != "decoder") return exp;
  if (exp.run.task == "lm") {
    exp.model.vocab_size = data::read_data_meta(exp.data.dir).at("vocab_size").get<int64_t>();
  } else if (exp.run.task == "sft") {
    if (exp.data.tokenizer.empty()) throw UserError("data.tokenizer: sft needs the tokenizer.json of the base model");
    exp.model.vocab_size = tokenizer::Tokenizer::load(exp.data.tokenizer).vocab_size();
  }
  return exp;
}

std::vector<std::string> frozen_names(const std::vector<std::pair<std::string, int64_t>>& params,
                                      const TrainConfig& tc) {
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.first);
  std::vector<std::string> frozen = parameters_matching(names, tc.freeze, "train.freeze");
  if (tc.train_only.empty()) return frozen;
  const std::vector<std::string> trained = parameters_matching(names, tc.train_only, "train.train_only");
  for (const auto& n : names)
    if (std::find(trained.begin(), trained.end(), n) == trained.end() &&
        std::find(frozen.begin(), frozen.end(), n) == frozen.end())
      frozen.push_back(n);
  return frozen;
}

std::optional<std::string> describe_from_config(Experiment exp) {
  if ((exp.run.task != "lm" && exp.run.task != "sft") || exp.model.family != "decoder") return std::nullopt;
  exp = with_decoder_vocab(std::move(exp));
  check_training_size(exp);
  // Names only where patterns need them (one string per tensor of every layer).
  const bool patterns = !exp.train.freeze.empty() || !exp.train.train_only.empty();
  const std::optional<ParamCount> c = count_decoder(exp.model, exp.data.seq_len, patterns);
  if (!c) return std::nullopt;
  int64_t trainable = std::llround(c->total);
  if (patterns) {
    const std::vector<std::string> frozen = frozen_names(c->names, exp.train);
    for (const auto& [name, numel] : c->names)
      if (std::find(frozen.begin(), frozen.end(), name) != frozen.end()) trainable -= numel;
  }
  std::ostringstream out;
  out << "total_params " << std::llround(c->total) << "\n"
      << "active_params " << std::llround(c->active) << "\n"
      << "train_flops_per_token " << c->train_flops_per_token << "  (seq_len " << exp.data.seq_len << ")\n"
      << "trainable_params " << trainable << "\n"
      << "counted_from config (model not built)\n";
  return out.str();
}

}  // namespace lmlab::train
