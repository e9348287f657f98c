// RecordSampler, the one order rule for record data sets (batch_source.h): deterministic per
// (seed, epoch), disjoint rank slices that add up to the 1-rank batch, exact restore, and the
// last partial batch dropped.
#include <gtest/gtest.h>

#include <set>

#include "lmlab/common/error.h"
#include "lmlab/data/batch_source.h"

using lmlab::data::CollatedSource;
using lmlab::data::NamedBatch;
using lmlab::data::RecordSampler;

namespace {

std::vector<int64_t> draw(RecordSampler& s, int batches) {
  std::vector<int64_t> out;
  for (int b = 0; b < batches; ++b)
    for (int64_t r : s.next()) out.push_back(r);
  return out;
}

}  // namespace

TEST(RecordSampler, SameSeedSameOrderAndEpochsDiffer) {
  RecordSampler a(100, 10, 7, 0, 1), b(100, 10, 7, 0, 1), other_seed(100, 10, 8, 0, 1);
  std::vector<int64_t> epoch0 = draw(a, 10), epoch1 = draw(a, 10);
  EXPECT_EQ(draw(b, 10), epoch0);
  EXPECT_NE(draw(other_seed, 10), epoch0);
  EXPECT_NE(epoch0, epoch1);
  // Each epoch is a permutation of all the records.
  for (const auto& epoch : {epoch0, epoch1}) EXPECT_EQ(std::set<int64_t>(epoch.begin(), epoch.end()).size(), 100u);
  EXPECT_EQ(a.epoch(), 2);
}

TEST(RecordSampler, OrderIsTheSameOnEveryRun) {
  // Pinned values: mt19937_64 and the Fisher-Yates rule are fully specified, so a change here
  // means every saved run would resume onto a different order.
  RecordSampler s(10, 5, 1, 0, 1);
  EXPECT_EQ(s.next(), (std::vector<int64_t>{7, 1, 0, 6, 4}));
  EXPECT_EQ(s.next(), (std::vector<int64_t>{3, 2, 9, 8, 5}));
  EXPECT_EQ(s.next(), (std::vector<int64_t>{6, 4, 0, 5, 3}));  // epoch 1 has its own order
  RecordSampler plain(10, 5, 1, 0, 1, /*shuffle=*/false);
  EXPECT_EQ(plain.next(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(plain.next(), (std::vector<int64_t>{5, 6, 7, 8, 9}));
  EXPECT_EQ(plain.next(), (std::vector<int64_t>{0, 1, 2, 3, 4}));  // epoch 1, still identity
}

TEST(RecordSampler, RanksTakeDisjointSlicesOfTheOneRankBatch) {
  const int64_t world = 3, batch = 4;
  RecordSampler single(50, world * batch, 11, 0, 1);
  std::vector<RecordSampler> ranks;
  for (int64_t r = 0; r < world; ++r) ranks.emplace_back(50, batch, 11, r, world);
  EXPECT_EQ(single.batches_per_epoch(), ranks[0].batches_per_epoch());
  for (int step = 0; step < 9; ++step) {  // crosses two epoch boundaries (4 batches an epoch)
    std::vector<int64_t> together;
    for (auto& r : ranks)
      for (int64_t i : r.next()) together.push_back(i);
    EXPECT_EQ(together, single.next()) << "step " << step;
    EXPECT_EQ(std::set<int64_t>(together.begin(), together.end()).size(), together.size());
  }
}

TEST(RecordSampler, RestoreMidEpochContinuesExactly) {
  RecordSampler a(37, 4, 3, 1, 2);
  draw(a, 6);  // 4 batches an epoch: this is mid epoch 1
  nlohmann::json state = a.state();
  std::vector<int64_t> rest = draw(a, 5);
  RecordSampler b(37, 4, 3, 1, 2);
  b.restore(state);
  EXPECT_EQ(b.batches_drawn(), 6);
  EXPECT_EQ(draw(b, 5), rest);
}

TEST(RecordSampler, RestoreWithAnotherGlobalBatchOrSeedIsAUserError) {
  RecordSampler a(40, 4, 3, 0, 2);
  a.next();
  RecordSampler bigger(40, 8, 3, 0, 2), reseeded(40, 4, 4, 0, 2), fewer(39, 4, 3, 0, 2);
  try {
    bigger.restore(a.state());
    ADD_FAILURE() << "no error";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("global_batch = 8, this run has 16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(reseeded.restore(a.state()), lmlab::UserError);
  EXPECT_THROW(fewer.restore(a.state()), lmlab::UserError);
  // Same global batch from another rank count is the same order: resuming on 1 rank is allowed.
  RecordSampler one_rank(40, 8, 3, 0, 1);
  EXPECT_NO_THROW(one_rank.restore(a.state()));
}

TEST(RecordSampler, LastPartialBatchIsDropped) {
  RecordSampler s(23, 5, 9, 0, 1);  // 4 full batches, 3 records left over
  EXPECT_EQ(s.batches_per_epoch(), 4);
  std::set<int64_t> seen;
  for (int64_t r : draw(s, 4)) seen.insert(r);
  EXPECT_EQ(seen.size(), 20u);
  EXPECT_EQ(s.epoch(), 1);
  EXPECT_EQ(s.next().size(), 5u);  // the next batch starts epoch 1, never a short one
  EXPECT_THROW(RecordSampler(7, 4, 0, 0, 2), lmlab::UserError);  // fewer than one global batch
  EXPECT_THROW(RecordSampler(7, 0, 0, 0, 1), lmlab::UserError);
  EXPECT_THROW(RecordSampler(70, 4, 0, 2, 2), std::invalid_argument);  // rank outside the world
  EXPECT_THROW(RecordSampler(70, 4, 0, 0, 0), std::invalid_argument);
}

TEST(CollatedSource, CollatesTheSampledRecordsAndKeepsTheState) {
  auto collate = [](const std::vector<int64_t>& records) {
    NamedBatch b;
    b.tensors["label"] = torch::tensor(records, torch::kInt64);
    return b;
  };
  CollatedSource src(RecordSampler(12, 3, 5, 0, 1), collate);
  RecordSampler mirror(12, 3, 5, 0, 1);
  NamedBatch b = src.next();
  EXPECT_EQ(b.size(), 3);
  std::vector<int64_t> expected = mirror.next();
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(b.at("label")[i].item<int64_t>(), expected[static_cast<size_t>(i)]);
  EXPECT_EQ(src.batches_per_epoch(), 4);
  EXPECT_EQ(src.state(), mirror.state());
}
