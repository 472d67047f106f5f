// Scores and masks: exact per-row sparsity, N:M structure, magnitude per-matrix count, ties to
// the lower column, and the elastic-net identities (α=0 modified = wanda; α=1 original = modified).
#include <gtest/gtest.h>

#include "enwanda/prune/mask.h"
#include "enwanda/prune/score.h"

using namespace enwanda;

TEST(Mask, UnstructuredPrunesFloorOfSparsityPerRow) {
  torch::manual_seed(1);
  auto s = torch::rand({7, 30});
  for (double sp : {0.0, 0.1, 0.5, 0.77}) {
    auto m = row_mask_unstructured(s, sp);
    auto per_row = m.sum(1);
    EXPECT_TRUE((per_row == static_cast<int64_t>(std::floor(sp * 30))).all().item<bool>()) << sp;
    // every pruned score is <= every kept score in its row
    for (int64_t r = 0; r < 7 && sp > 0; ++r) {
      auto pruned_max = s[r].masked_select(m[r]).max().item<float>();
      auto kept_min = s[r].masked_select(~m[r]).min().item<float>();
      EXPECT_LE(pruned_max, kept_min);
    }
  }
}

TEST(Mask, TiesGoToTheLowerColumn) {
  auto s = torch::tensor({{1.0f, 1.0f, 1.0f, 1.0f}});
  auto m = row_mask_unstructured(s, 0.5);
  EXPECT_TRUE(torch::equal(m, torch::tensor({{true, true, false, false}})));
  auto nm = row_mask_n_m(torch::tensor({{2.0f, 2.0f, 2.0f, 2.0f, 3.0f, 1.0f, 1.0f, 0.0f}}), 2, 4);
  EXPECT_TRUE(torch::equal(nm, torch::tensor({{true, true, false, false, false, true, false, true}})));
}

// The CUDA path (each row's k-th value) and the CPU path (a selection per row, rows over threads)
// give the sorted path's mask, ties and NaN included.
TEST(Mask, KthValueAndSelectionMasksEqualTheSortedMask) {
  torch::manual_seed(5);
  auto distinct = torch::rand({9, 64});
  auto heavy_ties = torch::randint(0, 4, {9, 64}).to(torch::kFloat32);
  auto all_equal = torch::ones({3, 16});
  auto with_nan = torch::rand({6, 20});
  with_nan.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 15, 2)}, NAN);  // 8 NaN per row
  auto many_rows = torch::randint(0, 40, {300, 96}).to(torch::kFloat32);  // several threads' share
  for (const auto& s : {distinct, heavy_ties, all_equal, with_nan, many_rows}) {
    for (int64_t k : {int64_t(1), s.size(1) / 2, s.size(1) - 3, s.size(1) - 1}) {
      const int64_t cols = s.size(1);
      auto sorted = group_mask_sorted(s, cols, k), kth = row_mask_kth_value(s, k), selected = group_mask_selected(s, cols, k);
      EXPECT_TRUE(torch::equal(sorted, kth)) << "k=" << k << " cols=" << s.size(1);
      EXPECT_TRUE(torch::equal(sorted, selected)) << "selection, k=" << k << " cols=" << s.size(1);
      EXPECT_TRUE((kth.sum(1) == k).all().item<bool>()) << "k=" << k;
    }
  }
  // the tie rule: leftmost of the equal entries
  EXPECT_TRUE(torch::equal(row_mask_kth_value(torch::tensor({{3.0f, 1.0f, 3.0f, 3.0f, 0.0f}}), 3),
                           torch::tensor({{true, true, false, false, true}})));
}

// N:M in every group: N pruned, none kept below a pruned one, and the CPU selection takes the
// group sort's entries (the CUDA path), ties and NaN included.
TEST(Mask, NMStructureInEveryGroup) {
  torch::manual_seed(2);
  auto distinct = torch::rand({5, 32});
  auto ties = torch::randint(0, 3, {40, 64}).to(torch::kFloat32);
  auto with_nan = torch::rand({6, 32});
  with_nan.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 32, 3)}, NAN);
  for (const auto& s : {distinct, ties, with_nan}) {
    const int64_t rows = s.size(0), cols = s.size(1);
    for (auto [n, m] : {std::pair<int64_t, int64_t>{2, 4}, {4, 8}, {1, 4}, {3, 4}}) {
      auto mask = row_mask_n_m(s, n, m);
      EXPECT_TRUE(torch::equal(mask, group_mask_sorted(s, m, n))) << n << ":" << m;
      auto groups = mask.reshape({rows, cols / m, m});
      EXPECT_TRUE((groups.sum(2) == n).all().item<bool>()) << n << ":" << m;
      auto x = s.nan_to_num(INFINITY).reshape({rows, cols / m, m});
      auto pruned_max = x.masked_fill(~groups, -INFINITY).amax(2), kept_min = x.masked_fill(groups, INFINITY).amin(2);
      EXPECT_TRUE((pruned_max <= kept_min).all().item<bool>()) << n << ":" << m;
    }
  }
}

TEST(Mask, MagnitudeUsesOneThresholdPerMatrix) {
  torch::manual_seed(3);
  auto w = torch::randn({16, 24});
  auto m = matrix_mask_magnitude(w, 0.5);
  EXPECT_EQ(m.sum().item<int64_t>(), 16 * 24 / 2);
  auto pruned_max = w.abs().masked_select(m).max().item<float>();
  auto kept_min = w.abs().masked_select(~m).min().item<float>();
  EXPECT_LT(pruned_max, kept_min);
  // rows are not balanced: per-matrix, not per-row
  EXPECT_FALSE((m.sum(1) == 12).all().item<bool>());
}

TEST(Score, ElasticNetIdentities) {
  torch::manual_seed(4);
  ChannelStats st{torch::rand({24}, torch::kFloat64) + 0.1, torch::rand({24}, torch::kFloat64) + 0.1};
  auto w = torch::randn({8, 24});
  auto mask_of = [&](Method m, Geometry g, double a) {
    return row_mask_unstructured(score_elastic_net(w, activation_scale(m, g, a, st)), 0.5);
  };
  EXPECT_TRUE(torch::equal(mask_of(Method::en, Geometry::modified, 0.0), mask_of(Method::wanda, Geometry::modified, 0.3)));
  EXPECT_TRUE(torch::equal(mask_of(Method::en, Geometry::original, 1.0), mask_of(Method::en, Geometry::modified, 1.0)));
  // the formulas themselves
  auto a = activation_scale(Method::en, Geometry::original, 0.25, st);
  EXPECT_TRUE(torch::allclose(a.to(torch::kFloat64), 0.25 * st.l1 + 0.75 * st.l2sq, 1e-6));
  a = activation_scale(Method::en, Geometry::modified, 0.25, st);
  EXPECT_TRUE(torch::allclose(a.to(torch::kFloat64), 0.25 * st.l1 + 0.75 * st.l2sq.sqrt(), 1e-6));
  auto s = score_elastic_net(w, a);
  EXPECT_TRUE(torch::allclose(s, w.abs() * a.unsqueeze(0)));
  auto g = torch::rand({8, 24});
  EXPECT_TRUE(torch::allclose(score_elastic_net(w, a, g, 100.0), (100.0 * g + a.unsqueeze(0)) * w.abs()));
}

TEST(Structure, ParsesAndRejects) {
  EXPECT_FALSE(parse_structure("unstructured").nm());
  auto s = parse_structure("2:4");
  EXPECT_EQ(s.n, 2);
  EXPECT_EQ(s.m, 4);
  for (const char* bad : {"4:4", "5:4", "0:4", "2:", "x:y", "2:4:8", "-1:4"}) EXPECT_ANY_THROW(parse_structure(bad)) << bad;
}
