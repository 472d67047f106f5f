// DSnoT and ALPS on single matrices: DSnoT's swaps on a row worked by hand, exact counts per row and
// per group of M on narrow rows (where the published loop's could break), 0 cycles = Wanda; ALPS's
// keep count per matrix (rounded half to even) and per group, and its reconstruction error against
// SparseGPT's; the moments DSnoT gathers. (Agreement with the independent reference on whole
// checkpoints is in tests/reference/run_dsnot_alps_test.sh.)
#include <gtest/gtest.h>

#include "enwanda/prune/activation_stats.h"
#include "enwanda/prune/methods/activation_score.h"
#include "enwanda/prune/methods/alps.h"
#include "enwanda/prune/methods/dsnot.h"
#include "enwanda/prune/methods/sparsegpt.h"

using namespace enwanda;

namespace {
ChannelStats random_stats(int64_t in, int64_t seed) {
  torch::manual_seed(seed);
  const auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  return {torch::rand({in}, opt) + 0.5, torch::rand({in}, opt) + 0.5, torch::randn({in}, opt) * 3.0,
          torch::rand({in}, opt) + 0.1};
}

torch::Tensor wanda_mask(const torch::Tensor& W, const ChannelStats& s, double sparsity, const Structure& st) {
  return wanda_family_mask(score_elastic_net(W, activation_scale(Method::wanda, Geometry::modified, 0.0, s)), sparsity, st);
}

double reconstruction_error(const torch::Tensor& W, const torch::Tensor& pruned, const torch::Tensor& H) {
  const auto d = (W.to(torch::kFloat64) - pruned.to(torch::kFloat64));
  return (d.matmul(H).matmul(d.t()).trace() / W.to(torch::kFloat64).matmul(H).matmul(W.to(torch::kFloat64).t()).trace())
      .item<double>();
}
}  // namespace

TEST(Dsnot, SwapsARowAsWorkedByHand) {
  // Wanda = |W| (L2² = 1): columns 0 and 1 pruned; d = W·mean = [0.5, −1, 1, −0.9]; e = −0.5.
  // Pass 1 (e < 0): regrow the lowest d/var (column 1), prune the back of the kept list [3, 2]
  // (column 2): e = 1.5. Pass 2 (e > 0): regrow column 0, prune column 3: e = 0.1; the regrow
  // list is used up.
  const auto W = torch::tensor({{0.1f, -0.2f, 1.0f, -0.9f}});
  const auto ones = torch::ones({4}, torch::kFloat64);
  const ChannelStats s{ones, ones, torch::tensor({5.0, 5.0, 1.0, 1.0}), ones};
  const DsnotMask m = dsnot_mask(W, s, 0.5, Structure{}, DsnotOptions{});
  EXPECT_TRUE(torch::equal(m.mask, torch::tensor({{false, false, true, true}})));
  EXPECT_EQ(m.swaps, 2);
}

TEST(Dsnot, ZeroCyclesOrASkippedLinearIsWanda) {
  torch::manual_seed(1);
  const auto W = torch::randn({12, 40});
  const auto s = random_stats(40, 2);
  DsnotOptions none;
  none.cycles = 0;
  for (const Structure& st : {Structure{}, Structure{2, 4}}) {
    EXPECT_TRUE(torch::equal(dsnot_mask(W, s, 0.5, st, none).mask, wanda_mask(W, s, 0.5, st)));
    EXPECT_TRUE(torch::equal(dsnot_mask(W, s, 0.5, st, DsnotOptions{}, /*refine=*/false).mask, wanda_mask(W, s, 0.5, st)));
  }
}

TEST(Dsnot, CountsStayExactOnNarrowRows) {
  // rows of 8 to 24 inputs and many cycles: the lists run out long before the cycles do
  DsnotOptions opt;
  opt.cycles = 200;
  opt.threshold = 0.0;
  int64_t swaps = 0;
  for (int64_t in : {8, 12, 24}) {
    torch::manual_seed(in);
    const auto W = torch::randn({64, in});
    const auto s = random_stats(in, in + 1);
    for (double sp : {0.3, 0.5, 0.7}) {
      const DsnotMask m = dsnot_mask(W, s, sp, Structure{}, opt);
      const auto expected = static_cast<int64_t>(std::floor(sp * static_cast<double>(in)));
      EXPECT_TRUE((m.mask.sum(1) == expected).all().item<bool>()) << in << " inputs, sparsity " << sp;
      swaps += m.swaps;
    }
    for (const Structure& st : {Structure{2, 4}, Structure{3, 4}, Structure{1, 4}}) {
      const DsnotMask m = dsnot_mask(W, s, 0.5, st, opt);
      EXPECT_TRUE((m.mask.reshape({64, in / 4, 4}).sum(2) == st.n).all().item<bool>()) << in << " inputs, " << st.str();
      swaps += m.swaps;
    }
  }
  EXPECT_GT(swaps, 0);
}

TEST(Dsnot, NofMSwapsKeepTheErrorsSign) {
  torch::manual_seed(4);
  const auto W = torch::randn({32, 64});
  const auto s = random_stats(64, 5);
  const DsnotMask m = dsnot_mask(W, s, 0.5, Structure{2, 4}, DsnotOptions{});
  const auto d = W.to(torch::kFloat64) * s.mean.unsqueeze(0);
  const auto e0 = d.masked_fill(wanda_mask(W, s, 0.5, Structure{2, 4}).logical_not(), 0.0).sum(1);
  const auto e1 = d.masked_fill(m.mask.logical_not(), 0.0).sum(1);
  EXPECT_GT(m.swaps, 0);
  EXPECT_TRUE((e1.sign() == e0.sign()).all().item<bool>());
}

TEST(ActivationStats, MomentsAreSumsPerSequenceAndMergedVariances) {
  torch::manual_seed(6);
  const auto x = torch::randn({3, 5, 4});  // 3 sequences of 5 tokens
  ActivationStats stats(/*moments=*/true);
  stats.add(LinearInput::attn, x.slice(0, 0, 1));
  stats.add(LinearInput::attn, x.slice(0, 1, 3));  // a batch of two
  const ChannelStats s = stats.channel_stats(LinearInput::attn, StatNorm::sequences);
  const auto xd = x.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(s.mean, xd.sum(at::IntArrayRef{0, 1}) / 3.0));
  EXPECT_TRUE(torch::allclose(s.var, xd.var(at::IntArrayRef{1}, /*unbiased=*/false).mean(0)));
}

TEST(Alps, KeepsRoundHalfEvenOfTheMatrixAndMofEveryGroup) {
  torch::manual_seed(7);
  const auto W = torch::randn({6, 8});
  const auto x = torch::randn({100, 8}, torch::kFloat64);
  const auto H = x.t().matmul(x);
  // 48 weights: S = 0.5 keeps 24; S = 0.4375 keeps round(27) = 27; S = 0.40625 keeps
  // round(28.5) = 28 (half to even)
  for (auto [sp, keep] : {std::pair<double, int64_t>{0.5, 24}, {0.4375, 27}, {0.40625, 28}}) {
    const auto out = alps_prune_linear(W, H, sp, Structure{}, AlpsOptions{}).weight;
    EXPECT_EQ((out != 0).sum().item<int64_t>(), keep) << "sparsity " << sp;
  }
  const auto nm = alps_prune_linear(W, H, 0.5, Structure{1, 4}, AlpsOptions{}).weight;
  EXPECT_TRUE(((nm != 0).reshape({6, 2, 4}).sum(2) == 3).all().item<bool>());
  EXPECT_TRUE(torch::equal(alps_prune_linear(W, H, 0.0, Structure{}, AlpsOptions{}).weight, W.to(torch::kFloat64)));
}

TEST(Alps, ReconstructsBetterThanSparseGpt) {
  torch::manual_seed(8);
  const auto W = torch::randn({32, 48});
  const auto x = torch::randn({400, 48}, torch::kFloat64).matmul(torch::randn({48, 48}, torch::kFloat64));  // correlated
  const auto H = x.t().matmul(x);
  for (const Structure& st : {Structure{}, Structure{2, 4}}) {
    for (double sp : {0.5, 0.7}) {
      if (st.nm() && sp != 0.5) continue;
      const AlpsResult a = alps_prune_linear(W, H, sp, st, AlpsOptions{});
      const auto g = sparsegpt_prune_linear(W, H, sp, st, SparseGptOptions{}, "w");
      EXPECT_LT(reconstruction_error(W, a.weight, H), reconstruction_error(W, g, H)) << st.str() << " " << sp;
      EXPECT_GT(a.iterations, 0);
      EXPECT_LE(a.iterations, 300);
    }
  }
}
