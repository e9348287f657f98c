// Token shards and the window loader: exact round trips, clear errors on bad shards, and the
// sampling invariants the trainer relies on (determinism, rank disjointness, exact resume).
#include <gtest/gtest.h>

#include <set>

#include "lmlab/common/error.h"
#include "lmlab/data/loader.h"
#include "lmlab/data/shards.h"
#include "testing.h"

using namespace lmlab::data;
using lmlab::test::TempDir;

namespace {

std::vector<uint32_t> iota_ids(size_t n, uint32_t modulo) {
  std::vector<uint32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<uint32_t>(i % modulo);
  return ids;
}

std::string open_error(const std::string& path) {
  try {
    TokenShard s(path);
  } catch (const lmlab::UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TokenShard, RoundTripsBothWidths) {
  TempDir dir;
  for (int width : {2, 4}) {
    std::vector<uint32_t> ids = iota_ids(1000, width == 2 ? 65536 : 100000);
    ids[7] = width == 2 ? 65535 : 4000000000u;
    write_token_shard(dir.file("s.bin"), ids, width);
    TokenShard s(dir.file("s.bin"));
    ASSERT_EQ(s.size(), 1000);
    EXPECT_EQ(s.id_bytes(), width);
    std::vector<int64_t> out(1000);
    s.read(0, 1000, out.data());
    for (size_t i = 0; i < ids.size(); ++i) ASSERT_EQ(out[i], static_cast<int64_t>(ids[i]));
    EXPECT_EQ(s.at(7), ids[7]);
    EXPECT_THROW(s.read(990, 11, out.data()), std::out_of_range);
  }
  EXPECT_EQ(id_bytes_for_vocab(65536), 2);
  EXPECT_EQ(id_bytes_for_vocab(65537), 4);
  EXPECT_THROW(write_token_shard(dir.file("x.bin"), {70000}, 2), std::invalid_argument);
}

TEST(TokenShard, HeaderLayoutIsLittleEndian) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), {1, 258}, 2);
  std::string b = lmlab::test::read_text(dir.file("s.bin"));
  ASSERT_EQ(b.size(), 32u + 4);
  EXPECT_EQ(b.substr(0, 8), "LMLABTOK");
  EXPECT_EQ(b[8], 1);
  EXPECT_EQ(b[12], 2);
  EXPECT_EQ(b[16], 2);
  EXPECT_EQ(b.substr(32), std::string("\x01\x00\x02\x01", 4));
}

TEST(TokenShard, MalformedShardsAreUserErrors) {
  TempDir dir;
  EXPECT_NE(open_error(dir.file("missing.bin")).find("lmlab data prepare"), std::string::npos);
  write_token_shard(dir.file("s.bin"), iota_ids(10, 50), 2);
  std::string good = lmlab::test::read_text(dir.file("s.bin"));
  lmlab::test::write_text(dir.file("short.bin"), good.substr(0, 10));
  EXPECT_NE(open_error(dir.file("short.bin")).find("shorter than its 32-byte header"), std::string::npos);
  lmlab::test::write_text(dir.file("cut.bin"), good.substr(0, good.size() - 1));
  EXPECT_NE(open_error(dir.file("cut.bin")).find("byte 16: header says 10 ids"), std::string::npos);
  std::string magic = good;
  magic[0] = 'X';
  lmlab::test::write_text(dir.file("magic.bin"), magic);
  EXPECT_NE(open_error(dir.file("magic.bin")).find("bad magic"), std::string::npos);
  std::string width = good;
  width[12] = 3;
  lmlab::test::write_text(dir.file("width.bin"), width);
  EXPECT_NE(open_error(dir.file("width.bin")).find("byte 12"), std::string::npos);
}

TEST(WindowLoader, WindowsAreShiftedTargetsFromTheShard) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), iota_ids(1000, 60000), 2);  // token i == i
  TokenShard s(dir.file("s.bin"));
  WindowLoader loader(s, 16, 4, 7, 0, 1);
  EXPECT_EQ(loader.windows_per_epoch(), (1000 - 16) / 16);
  for (int b = 0; b < 3; ++b) {
    Batch batch = loader.next();
    ASSERT_EQ(batch.x.sizes(), (std::vector<int64_t>{4, 16}));
    EXPECT_TRUE(torch::equal(batch.y, batch.x + 1));
    EXPECT_TRUE(torch::equal(batch.x.select(1, 1), batch.x.select(1, 0) + 1));
  }
}

TEST(WindowLoader, EpochIsAPermutationAndSeedsDiffer) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), iota_ids(5000, 60000), 2);
  TokenShard s(dir.file("s.bin"));
  WindowLoader a(s, 32, 1, 1, 0, 1), b(s, 32, 1, 1, 0, 1), c(s, 32, 1, 2, 0, 1);
  const int64_t W = a.windows_per_epoch();
  std::set<int64_t> starts;
  bool differs = false;
  for (int64_t g = 0; g < W; ++g) {
    int64_t st = a.window_start(g);
    EXPECT_EQ(st, b.window_start(g));
    differs |= st != c.window_start(g);
    starts.insert(st);
  }
  EXPECT_EQ(static_cast<int64_t>(starts.size()), W);  // every window once per epoch
  int64_t phase = *starts.begin() % 32;
  for (int64_t st : starts) EXPECT_EQ(st % 32, phase);  // non-overlapping within the epoch
  EXPECT_TRUE(differs);
}

TEST(WindowLoader, RanksSplitTheGlobalBatchWithoutOverlap) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), iota_ids(20000, 60000), 2);
  TokenShard s(dir.file("s.bin"));
  WindowLoader one(s, 8, 6, 3, 0, 1);
  std::vector<WindowLoader> ranks;
  for (int r = 0; r < 3; ++r) ranks.emplace_back(s, 8, 2, 3, r, 3);
  for (int step = 0; step < 5; ++step) {
    Batch global = one.next();
    std::vector<torch::Tensor> parts;
    for (auto& r : ranks) parts.push_back(r.next().x);
    EXPECT_TRUE(torch::equal(torch::cat(parts), global.x)) << "step " << step;
  }
}

TEST(WindowLoader, RestoredStateContinuesExactly) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), iota_ids(3000, 60000), 2);
  TokenShard s(dir.file("s.bin"));
  WindowLoader a(s, 16, 4, 9, 0, 1);
  for (int i = 0; i < 50; ++i) a.next();  // crosses epochs (W = 186 windows, 4 per batch)
  nlohmann::json state = nlohmann::json::parse(a.state().dump());
  WindowLoader b(s, 16, 4, 9, 0, 1);
  b.restore(state);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(torch::equal(a.next().x, b.next().x));
  WindowLoader other_batch(s, 16, 8, 9, 0, 1);
  EXPECT_THROW(other_batch.restore(state), lmlab::UserError);
}

TEST(WindowLoader, TooShortShardAndEvalWindows) {
  TempDir dir;
  write_token_shard(dir.file("s.bin"), iota_ids(30, 100), 2);
  TokenShard s(dir.file("s.bin"));
  EXPECT_THROW(WindowLoader(s, 16, 1, 0, 0, 1), lmlab::UserError);
  // (30 - 1) / 8 = 3 validation windows, dealt round-robin.
  EXPECT_EQ(eval_window_starts(s, 8, 10, 0, 1), (std::vector<int64_t>{0, 8, 16}));
  EXPECT_EQ(eval_window_starts(s, 8, 10, 0, 2), (std::vector<int64_t>{0, 16}));
  EXPECT_EQ(eval_window_starts(s, 8, 10, 1, 2), (std::vector<int64_t>{8}));
  // Fewer windows than available are spread over the whole shard, not taken from its start:
  // 3 available, 2 wanted -> windows 0 and floor(1 * 3 / 2) = 1; 12 of 99 available, 4 wanted.
  EXPECT_EQ(eval_window_starts(s, 8, 2, 0, 1), (std::vector<int64_t>{0, 8}));
  write_token_shard(dir.file("long.bin"), iota_ids(100, 100), 2);
  TokenShard l(dir.file("long.bin"));
  EXPECT_EQ(eval_window_starts(l, 8, 4, 0, 1), (std::vector<int64_t>{0, 24, 48, 72}));
  Batch b = windows_at(s, {16}, 8);
  EXPECT_EQ(b.y[0][7].item<int64_t>(), 24);
}
