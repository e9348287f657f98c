// Dial-MAE's parts (train/tasks/): R10@k / MRR / R2@1 on hand-computed groups with the tie
// rule, context/response truncation, prefix and window pairs, the asymmetric masking ratios and
// 80/10/10 split on a large sample with [CLS]/[SEP] never masked, and a decoder loss that depends
// on the encoder's [CLS] (a trained model does worse when the [CLS] states are shuffled).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "lmlab/train/losses.h"
#include "lmlab/train/tasks/dialmae_model.h"
#include "lmlab/train/tasks/dialogue_examples.h"
#include "lmlab/train/tasks/mlm_masking.h"
#include "lmlab/train/tasks/rsel_metrics.h"

using namespace lmlab::train;

TEST(RselMetrics, HandComputedGroupsWithTies) {
  // A: positive best (rank 1). B: two negatives above it (rank 3). C: all ten tied, positive
  // first, so every negative ranks above it (rank 10).
  RankingGroup a{{0.9, 0.1, 0.5, 0.2, 0.3, 0.0, 0.1, 0.2, 0.3, 0.4}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  RankingGroup b{{0.5, 0.7, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  RankingGroup c{std::vector<double>(10, 1.0), {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  EXPECT_EQ(candidate_rank(a.scores, 0), 1);
  EXPECT_EQ(candidate_rank(b.scores, 0), 3);
  EXPECT_EQ(candidate_rank(c.scores, 0), 10);
  EXPECT_EQ(candidate_rank(c.scores, 9), 1);  // the last of equal scores ranks first
  RselMetrics m = rsel_metrics({a, b, c});
  EXPECT_EQ(m.contexts, 3);
  EXPECT_DOUBLE_EQ(m.r10_1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.r10_2, 1.0 / 3);
  EXPECT_DOUBLE_EQ(m.r10_5, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.mrr, (1.0 + 1.0 / 3 + 0.1) / 3);
  EXPECT_DOUBLE_EQ(m.r2_1, 1.0 / 3);  // A wins against 0.1; B loses to 0.7; C's tie counts against it
  // Positive after its first negative, tied: it wins R2@1 (the later one of a tie ranks first).
  RankingGroup d{{0.4, 0.4, 0.9}, {0, 1, 0}};
  EXPECT_DOUBLE_EQ(rsel_metrics({d}).r2_1, 1.0);
  EXPECT_DOUBLE_EQ(rsel_metrics({d}).mrr, 0.5);
  // Two positives (ranks 1 and 4): recall is their mean, MRR the best one's.
  RankingGroup e{{0.9, 0.2, 0.5, 0.4, 0.3, 0.1}, {1, 1, 0, 0, 0, 0}};
  RselMetrics me = rsel_metrics({e});
  EXPECT_DOUBLE_EQ(me.r10_1, 0.5);
  EXPECT_DOUBLE_EQ(me.r10_5, 1.0);
  EXPECT_DOUBLE_EQ(me.mrr, 1.0);
  // No positive: skipped, not a zero.
  RselMetrics ms = rsel_metrics({a, RankingGroup{{0.1, 0.2}, {0, 0}}});
  EXPECT_EQ(ms.skipped, 1);
  EXPECT_DOUBLE_EQ(ms.r10_1, 1.0);
}

TEST(RselMetrics, ConsecutiveLinesWithTheSameContextAreOneGroup) {
  using lmlab::data::ResponseExample;
  std::vector<ResponseExample> ex = {{1, {"a", "b"}, "r"}, {0, {"a", "b"}, "x"}, {1, {"c"}, "r"}, {0, {"a", "b"}, "y"}};
  auto g = context_groups(ex);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0], std::make_pair(size_t{0}, size_t{2}));
  EXPECT_EQ(g[2], std::make_pair(size_t{3}, size_t{4}));
}

TEST(DialogueExamples, ContextKeepsTheLastTokensAndResponseTheFirst) {
  EncoderSpecials sp{100};
  TokenTurns t = {{1, 2, 3}, {4, 5}, {6, 7, 8}};
  EXPECT_EQ(context_sequence(t, 0, 2, sp, 10), (std::vector<int64_t>{sp.cls(), 1, 2, 3, sp.sep(), 4, 5, sp.sep()}));
  EXPECT_EQ(context_sequence(t, 0, 2, sp, 6), (std::vector<int64_t>{sp.cls(), 3, sp.sep(), 4, 5, sp.sep()}));
  EXPECT_EQ(response_sequence(t[2], sp, 4), (std::vector<int64_t>{sp.cls(), 6, 7, sp.sep()}));
  // Prefixes: contexts u0 (3 tokens, skipped at min 4) and u0 u1 (5 tokens).
  auto p = prefix_pairs({t}, 4);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].end, 2);
  EXPECT_EQ(prefix_pairs({t}, 1).size(), 2u);
}

TEST(DialogueExamples, WindowsAreTheFullPairPlusDistinctWindowsInsideTheDialogue) {
  TokenTurns five(5, std::vector<int64_t>{1});
  auto w = window_pairs({five}, 6, 20, 1);
  // full pair + starts 0..3 with sizes up to 4, 3, 2, 1, less the repeat of the full pair
  EXPECT_EQ(w.size(), 1u + 3 + 3 + 2 + 1);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const auto& p : w) {
    EXPECT_LT(p.begin, p.end);
    EXPECT_LT(p.end, 5);
    EXPECT_TRUE(seen.insert({p.begin, p.end}).second);
  }
  auto one = window_pairs({five}, 1, 2, 3);  // one size in [1, 2] per start (start 3: size 1 only)
  EXPECT_LE(one.size(), 1u + 4);
  for (const auto& p : one) EXPECT_TRUE((p.begin == 0 && p.end == 4) || p.end - p.begin <= 2);
  EXPECT_EQ(window_pairs({TokenTurns(2, {1})}, 6, 20, 1).size(), 1u);  // a single exchange: just the pair
}

TEST(DialMaeMasking, RatiosAnd801010HoldOnALargeSampleAndSpecialsAreNeverMasked) {
  const int64_t V = 1000;
  EncoderSpecials sp{V};
  std::vector<bool> word_start(V);
  for (int64_t i = 0; i < V; ++i) word_start[i] = i % 3 == 0;  // words of ~3 tokens
  std::mt19937 rng(3);
  std::vector<std::vector<int64_t>> seqs;
  for (int b = 0; b < 2000; ++b) {
    TokenTurns turns(3);
    for (auto& u : turns)
      for (int k = 0; k < 5 + static_cast<int>(rng() % 20); ++k) u.push_back(rng() % V);
    seqs.push_back(context_sequence(turns, 0, 3, sp, 64));
  }
  std::vector<const std::vector<int64_t>*> ptrs;
  for (const auto& s : seqs) ptrs.push_back(&s);
  torch::Tensor ids = pad_sequences(ptrs, sp).at("ids");  // (B, T)
  for (double ratio : {0.30, 0.75}) {
    lmlab::MlmConfig cfg;
    cfg.mask_ratio = ratio;
    torch::Tensor normal = ids.lt(V);
    // Per sequence: exactly max(1, round(ratio n)) tokens of its n normal ones, or (whole words)
    // at most that many.
    for (bool whole : {false, true}) {
      cfg.whole_word = whole;
      MaskedBatch w = mask_tokens(ids, word_start, sp, cfg, 5);
      torch::Tensor per_row = w.labels.ne(kIgnoreIndex).sum(1), n = normal.sum(1);
      for (int64_t b = 0; b < ids.size(0); ++b) {
        const int64_t want = std::max<int64_t>(1, std::llround(ratio * static_cast<double>(n[b].item<int64_t>())));
        if (whole) {
          ASSERT_LE(per_row[b].item<int64_t>(), want);
        } else {
          ASSERT_EQ(per_row[b].item<int64_t>(), want);
        }
      }
    }
    MaskedBatch m = mask_tokens(ids, word_start, sp, cfg, 11);
    torch::Tensor chosen = m.labels.ne(kIgnoreIndex);
    EXPECT_EQ(chosen.logical_and(normal.logical_not()).sum().item<int64_t>(), 0) << "a special was chosen";
    EXPECT_TRUE(m.input.masked_select(normal.logical_not()).equal(ids.masked_select(normal.logical_not())));
    EXPECT_TRUE(m.labels.masked_select(chosen).equal(ids.masked_select(chosen)));
    const double share = chosen.sum().item<double>() / normal.sum().item<double>();
    EXPECT_GT(share, ratio - 0.04) << ratio;  // whole words stop at or just under round(ratio n)
    EXPECT_LT(share, ratio + 0.01) << ratio;
    const double n = chosen.sum().item<double>();
    const double as_mask = m.input.eq(sp.mask()).logical_and(chosen).sum().item<double>() / n;
    const double kept = m.input.eq(ids).logical_and(chosen).sum().item<double>() / n;
    EXPECT_NEAR(as_mask, 0.8, 0.01);
    EXPECT_NEAR(kept, 0.1 + 0.1 / V, 0.01);  // unchanged, plus random draws of the same id
    EXPECT_NEAR(1 - as_mask - kept, 0.1, 0.01);
  }
}

namespace {

// Contexts [CLS] a [SEP], responses [CLS] b b b [SEP] with b = a + 20, fully masked: the decoder
// can only know b through the encoder's [CLS].
lmlab::data::NamedBatch cls_copy_batch(int64_t B, const EncoderSpecials& sp) {
  torch::Tensor a = torch::randint(0, 20, {B, 1}, torch::kInt64);
  auto col = [&](int64_t v) { return torch::full({B, 1}, v, torch::kInt64); };
  lmlab::data::NamedBatch b;
  b.tensors["ctx_ids"] = torch::cat({col(sp.cls()), a, col(sp.sep())}, 1);
  b.tensors["ctx_pad"] = torch::ones({B, 3}, torch::kBool);
  b.tensors["ctx_labels"] = torch::full({B, 3}, kIgnoreIndex, torch::kInt64);
  b.tensors["resp_ids"] = torch::cat({col(sp.cls()), col(sp.mask()), col(sp.mask()), col(sp.mask()), col(sp.sep())}, 1);
  b.tensors["resp_pad"] = torch::ones({B, 5}, torch::kBool);
  b.tensors["resp_labels"] = torch::cat({col(kIgnoreIndex), a + 20, a + 20, a + 20, col(kIgnoreIndex)}, 1);
  return b;
}

}  // namespace

TEST(DialMaeModel, DecoderLossDependsOnTheEncodersClsState) {
  torch::manual_seed(0);
  EncoderSpecials sp{40};
  lmlab::ModelConfig cfg;
  cfg.family = "encoder";
  cfg.n_layer = 1;
  cfg.n_head = 2;
  cfg.n_kv_head = 2;
  cfg.d_model = 32;
  cfg.vocab_size = sp.vocab_size();
  cfg.max_seq_len = 8;
  cfg.dropout = 0;
  DialMaeModel m(cfg, 1);
  torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < 400; ++step) {
    DialMaeLoss l = dialmae_loss(*m, cls_copy_batch(64, sp));
    opt.zero_grad();
    l.dec.mean().backward();
    if (step == 0) {  // L_dec reaches the encoder's layers through [CLS]
      EXPECT_GT(m->backbone->blocks[0]->parameters()[0].grad().abs().sum().item<double>(), 0.0);
    }
    opt.step();
  }
  torch::NoGradGuard no_grad;
  m->eval();
  auto batch = cls_copy_batch(256, sp);
  const double own = dialmae_loss(*m, batch).dec.mean().item<double>();
  torch::Tensor shifted = torch::roll(torch::arange(256, torch::kInt64), 1);
  const double shuffled = dialmae_loss(*m, batch, shifted).dec.mean().item<double>();
  EXPECT_LT(own, 1.0) << own;          // it learned to read b from [CLS] (chance: ln 20 = 3.0)
  EXPECT_GT(shuffled, own + 1.5) << shuffled;  // another row's [CLS] gives mostly the wrong b
}
