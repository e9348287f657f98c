// The encoder detector's two input forms (train/tasks/encoder_inputs.h): [CLS] text [SEP] by
// default, and the HC3 Plus code's quirk (cls_token = false): the text alone, so the pooled
// position 0 is the first text token.
#include <gtest/gtest.h>

#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/trainer.h"
#include "lmlab/train/tasks/encoder_inputs.h"

namespace lmlab::train {
namespace {

TEST(EncoderQuirk, FirstTokenFormDropsClsAndSep) {
  tokenizer::TrainOptions o;
  o.vocab_size = 300;
  const auto tok = tokenizer::Tokenizer::from_model(tokenizer::train({"the model wrote this text, the human did not"}, o).model);
  EncoderSpecials sp;
  sp.text_vocab = tok.vocab_size();
  const std::string text = "the human wrote this";
  std::vector<int64_t> ids;
  for (uint32_t id : tok.encode(text)) ids.push_back(id);
  const auto with_cls = encoder_sequence(tok, text, sp, 64);
  ASSERT_EQ(with_cls.size(), ids.size() + 2);
  EXPECT_EQ(with_cls.front(), sp.cls());
  EXPECT_EQ(with_cls.back(), sp.sep());
  EXPECT_EQ(std::vector<int64_t>(with_cls.begin() + 1, with_cls.end() - 1), ids);
  const auto quirk = encoder_sequence(tok, text, sp, 64, /*with_cls=*/false);
  EXPECT_EQ(quirk, ids);
  EXPECT_EQ(encoder_sequence(tok, text, sp, 2, false), std::vector<int64_t>(ids.begin(), ids.begin() + 2));
  EXPECT_EQ(encoder_sequence(tok, "", sp, 8, false), std::vector<int64_t>{sp.sep()});  // never an empty row
}

}  // namespace
}  // namespace lmlab::train
