// The pieces of the fuda task against hand cases and brute force: C-VisDiT's entropy ranking,
// three-way split, nearest labelled source, mixing and X-VD mask normalisation; PCS's k-means,
// concentration, losses, memory bank and classifier prototypes; the data helpers (shot
// sampler, subsets, shifts, resizing, the optdigits reader).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "lmlab/common/error.h"
#include "lmlab/train/tasks/fuda_data.h"
#include "lmlab/train/tasks/fuda_model.h"
#include "lmlab/train/tasks/pcs.h"
#include "lmlab/train/tasks/visual_dispersal.h"
#include "testing.h"

using namespace lmlab::train;

namespace {

std::vector<int64_t> ints(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kInt64).contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

TEST(FudaDispersal, EntropyRankingAndThreeWaySplitOnAHandCase) {
  // Entropies by row: 0.9, 0.1, 0.5, 0.1 (tie with row 1), 0.7, 0.3, 1.0, 0.2, 0.6, 0.4.
  torch::Tensor h = torch::tensor({0.9, 0.1, 0.5, 0.1, 0.7, 0.3, 1.0, 0.2, 0.6, 0.4});
  EXPECT_EQ(ints(entropy_ranking(h)), (std::vector<int64_t>{1, 3, 7, 5, 9, 2, 8, 4, 0, 6}));
  // Office A->D 1-shot: easy = floor(10 * 0.15) = 1, easy + hard = floor(10 * 0.75) = 7.
  ConfidenceSplit s = three_way_split(h, 0.15, 0.75);
  EXPECT_EQ(ints(s.easy), (std::vector<int64_t>{1}));
  EXPECT_EQ(ints(s.hard), (std::vector<int64_t>{3, 7, 5, 9, 2, 8}));
  EXPECT_EQ(ints(s.outliers), (std::vector<int64_t>{4, 0, 6}));
  // X-VD's confident share: the floor(10 * 0.35) = 3 lowest entropies.
  EXPECT_EQ(ints(confident_mask(h, 0.35).nonzero().squeeze(1)), (std::vector<int64_t>{1, 3, 7}));
  // Entropy itself: a uniform row over 4 classes, and a one-hot row.
  torch::Tensor p = torch::tensor({0.25f, 0.25f, 0.25f, 0.25f, 1.f, 0.f, 0.f, 0.f}).view({2, 4});
  torch::Tensor e = prediction_entropy(p);
  EXPECT_NEAR(e[0].item<float>(), -std::log(0.25 + 1e-5), 1e-5);
  EXPECT_NEAR(e[1].item<float>(), -std::log(1 + 1e-5), 1e-6);
}

TEST(FudaDispersal, NearestLabelledSourceMatchesBruteForce) {
  torch::manual_seed(3);
  torch::Tensor t = torch::nn::functional::normalize(torch::randn({50, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor s = torch::nn::functional::normalize(torch::randn({7, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<int64_t> got = ints(nearest_source(t, s));
  for (int64_t i = 0; i < 50; ++i) {
    int64_t best = 0;
    double best_d = 1e30;
    for (int64_t j = 0; j < 7; ++j) {
      double d = 0;
      for (int64_t c = 0; c < 8; ++c) d += std::pow(t[i][c].item<double>() - s[j][c].item<double>(), 2);
      if (d < best_d) best_d = d, best = j;
    }
    EXPECT_EQ(got[i], best) << "target " << i;
  }
  // Unnormalised features too (the distance is not a cosine in disguise).
  torch::Tensor a = torch::tensor({0.f, 0.f}).view({1, 2}), b = torch::tensor({3.f, 0.f, 1.f, 1.f}).view({2, 2});
  EXPECT_EQ(nearest_source(a, b).item<int64_t>(), 1);
}

TEST(FudaDispersal, LambdaAtLeastHalfAndMixedLabelsSumToOne) {
  torch::manual_seed(5);
  torch::Tensor l = mix_lambdas(20000, 0.75);
  EXPECT_GE(l.min().item<float>(), 0.5f);
  EXPECT_LE(l.max().item<float>(), 1.0f);
  // E max(B, 1 - B) for B ~ Beta(0.75, 0.75) is 0.7782 (numerical integral; a 1e6-draw Python
  // random.betavariate check agrees): the draws follow Beta(0.75, 0.75), not some other alpha.
  EXPECT_NEAR(l.mean().item<float>(), 0.778, 0.005);
  torch::Tensor x1 = torch::ones({3, 1, 2, 2}), x2 = torch::zeros({3, 1, 2, 2});
  torch::Tensor lam = torch::tensor({0.5f, 0.8f, 1.0f});
  Mixed m = mix(x1, torch::tensor({0, 2, 1}), x2, torch::tensor({1, 2, 0}), lam, 3);
  EXPECT_TRUE(torch::allclose(m.images.flatten(1).mean(1), lam));
  EXPECT_TRUE(torch::allclose(m.soft.sum(1), torch::ones({3})));
  EXPECT_TRUE(torch::allclose(m.soft, torch::tensor({0.5f, 0.5f, 0.f, 0.f, 0.f, 1.f, 0.f, 1.f, 0.f}).view({3, 3})));
}

TEST(FudaDispersal, XvdMaskNormalisesByTheConfidentCount) {
  torch::Tensor per_row = torch::tensor({1.0f, 2.0f, 3.0f, 10.0f});
  EXPECT_FLOAT_EQ(masked_mean(per_row, torch::tensor({1.f, 0.f, 1.f, 0.f})).item<float>(), 2.0f);
  EXPECT_FLOAT_EQ(masked_mean(per_row, torch::tensor({0.f, 0.f, 0.f, 1.f})).item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(masked_mean(per_row, torch::zeros({4})).item<float>(), 0.0f);  // no confident row: 0, not NaN
  // Soft CE of a uniform prediction is log C whatever the soft label.
  torch::Tensor soft = torch::tensor({0.7f, 0.3f, 0.f});
  EXPECT_NEAR(soft_cross_entropy(torch::zeros({1, 3}), soft.view({1, 3})).item<float>(), std::log(3.0), 1e-6);
}

TEST(FudaDispersal, RowCyclerVisitsEveryRowOncePerPass) {
  RowCycler c({4, 5, 6, 7, 8}, 2, 1);
  std::multiset<int64_t> pass;
  for (int b = 0; b < 3; ++b)
    for (int64_t r : c.next()) pass.insert(r);  // 2 + 2 + 1 (drop_last = False)
  EXPECT_EQ(pass, (std::multiset<int64_t>{4, 5, 6, 7, 8}));
  EXPECT_EQ(c.next().size(), 2u);  // a new pass
}

TEST(FudaPcs, KmeansOnAHandCase) {
  // Two groups of unit vectors around +x and around +y; k = 2 must split them, centroids =
  // normalised means of the members.
  const float a = 0.3f;  // groups tight enough that every start converges to the split
  torch::Tensor x = torch::tensor({1.f, a, 1.f, -a, 1.f, 0.f, a, 1.f, -a, 1.f}).view({5, 2});
  x = torch::nn::functional::normalize(x, torch::nn::functional::NormalizeFuncOptions().dim(1));
  for (uint64_t seed : {1u, 2u, 3u}) {
    Clustering c = spherical_kmeans(x, 2, 10, seed, 10.0);
    std::vector<int64_t> l = ints(c.labels);
    EXPECT_EQ(l[0], l[1]);
    EXPECT_EQ(l[0], l[2]);
    EXPECT_EQ(l[3], l[4]);
    EXPECT_NE(l[0], l[3]);
    EXPECT_TRUE(torch::allclose(c.centroids[l[0]], torch::tensor({1.f, 0.f}), 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(c.centroids[l[3]], torch::tensor({0.f, 1.f}), 1e-5, 1e-6));
    // phi = sum |x - mu| / (n log(n + 10)): 3 members at distances d, d, 0 and 2 at d, d.
    const double d = std::sqrt(std::pow(1 - 1 / std::sqrt(1 + a * a), 2) + std::pow(a / std::sqrt(1 + a * a), 2));
    EXPECT_NEAR(c.phi[l[0]].item<float>(), std::max(0.05, 2 * d / (3 * std::log(13.0))), 1e-6);
    EXPECT_NEAR(c.phi[l[3]].item<float>(), std::max(0.05, 2 * d / (2 * std::log(12.0))), 1e-6);
  }
  // Concentration above its 0.05 floor, a singleton cluster (0.05) and an empty one (0).
  torch::Tensor y = torch::tensor({1.f, 0.f, -1.f, 0.f, 0.f, 1.f}).view({3, 2});
  torch::Tensor phi = cluster_concentration(y, torch::tensor({0, 0, 1}), torch::tensor({0.f, 0.f, 0.f, 1.f, 1.f, 0.f}).view({3, 2}), 10.0);
  EXPECT_NEAR(phi[0].item<float>(), 2.0 / (2 * std::log(12.0)), 1e-6);
  EXPECT_FLOAT_EQ(phi[1].item<float>(), 0.05f);
  EXPECT_FLOAT_EQ(phi[2].item<float>(), 0.0f);
}

TEST(FudaPcs, ProtoAndI2cLossesEqualTheirFormulas) {
  torch::Tensor f = torch::tensor({1.f, 0.f, 0.6f, 0.8f}).view({2, 2});
  Clustering c{torch::tensor({1, 0, 1}), torch::tensor({0.f, 1.f, 1.f, 0.f}).view({2, 2}), torch::tensor({0.5f, 0.1f})};
  // Rows 2 and 0 of the bank: own clusters 1 and 1.
  torch::Tensor got = proto_loss(f, torch::tensor({2, 0}), {c, c});
  auto nll = [](double own, double other) { return -(own - std::log(std::exp(own) + std::exp(other))); };
  const double want = 0.5 * (nll(1.0 / 0.1, 0.0 / 0.5) + nll(0.6 / 0.1, 0.8 / 0.5));
  EXPECT_NEAR(got.item<float>(), want, 1e-4);
  // I2C: entropy of softmax(f . mu / t) averaged over rows.
  auto h = [](double a, double b) {
    double pa = std::exp(a) / (std::exp(a) + std::exp(b)), pb = 1 - pa;
    return -(pa * std::log(pa) + pb * std::log(pb));
  };
  EXPECT_NEAR(i2c_loss(f, {c}, 0.1).item<float>(), 0.5 * (h(0.0, 10.0) + h(8.0, 6.0)), 1e-5);
}

TEST(FudaPcs, BankClassifierAndMomentumSoftmax) {
  torch::Tensor rows = torch::tensor({1.f, 0.f}).view({1, 2}), f = torch::tensor({0.f, 5.f}).view({1, 2});
  EXPECT_TRUE(torch::allclose(bank_update(rows, f, 0.5), torch::tensor({1.f, 1.f}).view({1, 2}) / std::sqrt(2.f)));
  CosineClassifier cls(2, 3, 0.05);
  torch::Tensor bank = torch::tensor({1.f, 0.f, 0.f, 1.f, 1.f, 1.f}).view({3, 2});
  EXPECT_EQ(cls->load_prototypes(bank, torch::tensor({0, 0, 2}), 1), 2);  // class 1 has none: kept
  EXPECT_TRUE(torch::allclose(cls->weight[0], torch::tensor({1.f, 1.f}) / std::sqrt(2.f)));
  EXPECT_EQ(cls->load_prototypes(bank, torch::tensor({0, 0, 2}), 2), 1);   // min_count 2: only class 0
  torch::Tensor z = cls->forward(torch::tensor({2.f, 2.f}).view({1, 2}));
  EXPECT_NEAR(z[0][0].item<float>(), 1.0 / 0.05, 1e-4);  // cosine 1 / T
  MomentumSoftmax ms(2, 3.0);
  torch::Tensor logits = torch::tensor({10.f, -10.f, 10.f, -10.f}).view({2, 2});  // pbar ~ (1, 0)
  torch::Tensor loss = ms.condentmax(logits);
  // v = (0.5 * 3 + pbar * 2) / 5 = (0.7, 0.3); loss = sum pbar log(v + 1e-5).
  EXPECT_NEAR(ms.vector()[0].item<float>(), 0.7, 1e-4);
  EXPECT_NEAR(loss.item<float>(), std::log(0.7 + 1e-5), 1e-4);
}

TEST(FudaData, ShotSamplerIsDeterministicPerSeedAndTakesShotsPerClass) {
  torch::Tensor labels = torch::arange(60) % 3;  // 20 images per class
  std::vector<int64_t> a = sample_shots(labels, 3, 3, 7, "s"), b = sample_shots(labels, 3, 3, 7, "s");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, sample_shots(labels, 3, 3, 8, "s"));
  ASSERT_EQ(a.size(), 9u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(labels[a[i]].item<int64_t>(), static_cast<int64_t>(i / 3));
  EXPECT_EQ(std::set<int64_t>(a.begin(), a.end()).size(), 9u);  // no image twice
  EXPECT_THROW(sample_shots(labels, 4, 1, 7, "src.idx"), lmlab::UserError);  // class 3 has no image
  EXPECT_EQ(random_subset(10, 4, 1), random_subset(10, 4, 1));
  EXPECT_EQ(random_subset(5, 0, 1), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(FudaData, LabelledBatchesNeverHoldATargetImage) {
  // Source images are +1 everywhere, target images -1: every labelled image must be a source one,
  // and exactly the sampled shots.
  torch::Tensor src = torch::ones({40, 1, 4, 4}), tgt = -torch::ones({30, 1, 4, 4});
  torch::Tensor labels = torch::arange(40) % 4;
  std::vector<int64_t> shots = sample_shots(labels, 4, 2, 11, "s");
  src.index_fill_(0, torch::tensor(shots), 2.0);  // the shots are +2
  FudaSource source(src, tgt, torch::tensor(shots), labels.index_select(0, torch::tensor(shots)), 8, 64, 1);
  EXPECT_EQ(source.batches_per_epoch(), 5);  // max(40 / 8, 30 / 8)
  for (int step = 0; step < 12; ++step) {
    lmlab::data::NamedBatch b = source.next();
    EXPECT_TRUE(b.at("lbd_images").eq(2.0).all().item<bool>());
    EXPECT_EQ(b.at("lbd_images").size(0), 8);  // all shots every step (fewer than labelled_batch)
    EXPECT_TRUE(b.at("lbd_label").eq(labels.index_select(0, b.at("lbd_rows"))).all().item<bool>());
    EXPECT_TRUE(b.at("tgt_images").eq(-1.0).all().item<bool>());
  }
}

TEST(FudaData, RandomShiftMovesEachImageByAtMostShiftPixels) {
  // One bright pixel at (4, 4) of a 9x9 zero image: after the shift it is the only bright pixel,
  // at most 2 away on each axis, and the shifts differ between images.
  torch::Tensor x = torch::zeros({64, 1, 9, 9});
  x.index_put_({torch::indexing::Slice(), 0, 4, 4}, 1.0);
  torch::manual_seed(2);
  torch::Tensor y = random_shift(x, 2);
  std::set<int64_t> offsets;
  for (int64_t i = 0; i < 64; ++i) {
    ASSERT_FLOAT_EQ(y[i].sum().item<float>(), 1.0f);
    const int64_t at = y[i][0].flatten().argmax().item<int64_t>(), r = at / 9, c = at % 9;
    EXPECT_LE(std::abs(r - 4), 2);
    EXPECT_LE(std::abs(c - 4), 2);
    offsets.insert(r * 9 + c);
  }
  EXPECT_GT(offsets.size(), 10u);  // of the 25 possible
  EXPECT_TRUE(random_shift(x, 0).equal(x));
}

TEST(FudaData, ResizesNormalisesAndReadsTheDigitsCsv) {
  torch::Tensor img = torch::rand({2, 1, 8, 8});
  torch::Tensor x = to_input(img, 16, "per_image");
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 16, 16}));
  EXPECT_NEAR(x[0].mean().item<float>(), 0.0, 1e-5);
  EXPECT_NEAR(x[1].std(false).item<float>(), 1.0, 1e-3);
  EXPECT_TRUE(torch::allclose(to_input(img, 8, "fixed"), img * 2 - 1));
  lmlab::test::TempDir dir;
  std::string row;
  for (int i = 0; i < 64; ++i) row += std::to_string(i % 17) + ",";
  lmlab::test::write_text(dir.file("d.csv"), row + "3\n" + row + "7\n");
  Domain d = read_domain(dir.file("d.csv"));
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{2, 1, 8, 8}));
  EXPECT_EQ(ints(d.labels), (std::vector<int64_t>{3, 7}));
  EXPECT_FLOAT_EQ(d.images[0][0][0][1].item<float>(), 1.0f / 16);
  lmlab::test::write_text(dir.file("bad.csv"), row + "3\n1,2,x\n");
  try {
    read_domain(dir.file("bad.csv"));
    FAIL() << "no error";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2"), std::string::npos) << e.what();
  }
}

}  // namespace
