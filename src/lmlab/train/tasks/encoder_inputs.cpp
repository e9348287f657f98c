// Encoder inputs from text (see encoder_inputs.h).
#include "lmlab/train/tasks/encoder_inputs.h"

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::train {

void resolve_encoder_vocab(int64_t& vocab_size, const EncoderSpecials& sp, const std::string& source) {
  if (vocab_size == 0) vocab_size = sp.vocab_size();
  if (vocab_size != sp.vocab_size())
    throw UserError("model.vocab_size = " + std::to_string(vocab_size) + " but " + source + "'s " +
                    std::to_string(sp.text_vocab) + " ids + 4 encoder specials make " + std::to_string(sp.vocab_size()));
}

std::vector<int64_t> encoder_sequence(const tokenizer::Tokenizer& tok, const std::string& text,
                                      const EncoderSpecials& sp, int64_t max_len, bool with_cls) {
  std::vector<uint32_t> ids = tok.encode(text);
  if (!with_cls) {
    std::vector<int64_t> out(ids.begin(), ids.begin() + std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(ids.size()),
                                                                                   std::max<int64_t>(1, max_len)));
    if (out.empty()) out.push_back(sp.sep());
    return out;
  }
  const size_t keep = std::min<size_t>(ids.size(), static_cast<size_t>(std::max<int64_t>(0, max_len - 2)));
  std::vector<int64_t> out;
  out.reserve(keep + 2);
  out.push_back(sp.cls());
  out.insert(out.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(keep));
  out.push_back(sp.sep());
  return out;
}

data::NamedBatch pad_sequences(const std::vector<const std::vector<int64_t>*>& seqs, const EncoderSpecials& sp) {
  int64_t T = 0;
  for (const auto* s : seqs) T = std::max<int64_t>(T, static_cast<int64_t>(s->size()));
  const int64_t B = static_cast<int64_t>(seqs.size());
  torch::Tensor ids = torch::full({B, T}, sp.pad(), torch::kInt64);  // (B, T)
  torch::Tensor mask = torch::zeros({B, T}, torch::kBool);            // (B, T)
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t t = 0; t < seqs[b]->size(); ++t) {
      ia[b][t] = (*seqs[b])[t];
      ma[b][t] = true;
    }
  data::NamedBatch out;
  out.tensors["ids"] = ids;
  out.tensors["pad_mask"] = mask;
  return out;
}

}  // namespace lmlab::train
