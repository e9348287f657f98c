// Two tokenizer Models equal field by field, each difference reported on its own (the cache's
// and the fast scanner's tests compare what they read with the full parser's model).
#pragma once
#include <gtest/gtest.h>

#include "lmlab/tokenizer/model.h"

namespace lmlab::test {

inline void expect_same_model(const tokenizer::Model& a, const tokenizer::Model& b) {
  EXPECT_EQ(a.algo, b.algo);
  EXPECT_EQ(a.pattern, b.pattern);
  EXPECT_EQ(a.split_digits, b.split_digits);
  EXPECT_EQ(a.ignore_merges, b.ignore_merges);
  EXPECT_EQ(a.tokens, b.tokens);
  ASSERT_EQ(a.merges.size(), b.merges.size());
  for (size_t i = 0; i < a.merges.size(); ++i) {
    EXPECT_EQ(a.merges[i].left, b.merges[i].left) << i;
    EXPECT_EQ(a.merges[i].right, b.merges[i].right) << i;
    EXPECT_EQ(a.merges[i].result, b.merges[i].result) << i;
  }
  EXPECT_EQ(a.scaffold, b.scaffold);
  EXPECT_EQ(a.scaffold_count, b.scaffold_count);
  EXPECT_EQ(a.specials, b.specials);
}

}  // namespace lmlab::test
