// SparseGPT, RIA and OWL at the level of one matrix or one list of layers: SparseGPT's per-block
// count, dead inputs, N:M groups and dampening retries; RIA's scores by hand; OWL's outlier ratio
// and allocation by hand; every method's count of zeros at the extremes of its options. (Agreement with the independent reference on whole checkpoints is in
// tests/reference.)
#include <functional>

#include <gtest/gtest.h>

#include "enwanda/errors.h"
#include "enwanda/prune/layer_method.h"
#include "enwanda/prune/layer_sparsity.h"
#include "enwanda/prune/methods/ria.h"
#include "enwanda/prune/methods/sparsegpt.h"

using namespace enwanda;

namespace {
// H = (2/N)·XᵀX of random inputs [tokens, in], fp64 as on the CPU
torch::Tensor random_hessian(int64_t in, int64_t tokens, int64_t seed) {
  torch::manual_seed(seed);
  auto x = torch::randn({tokens, in}, torch::kFloat64);
  return x.t().matmul(x) * (2.0 / 4.0);
}
}  // namespace

TEST(SparseGpt, EachBlockPrunesFloorOfSparsityTimesNumelPlusOne) {
  torch::manual_seed(3);
  const auto W = torch::randn({24, 40});
  const auto H = random_hessian(40, 200, 4);
  SparseGptOptions opt;
  opt.block = 16;  // blocks of 16, 16 and 8 columns
  for (double sp : {0.3, 0.5, 0.7}) {
    const auto out = sparsegpt_prune_linear(W, H, sp, Structure{}, opt, "w");
    for (int64_t i1 = 0; i1 < 40; i1 += 16) {
      const auto blk = out.slice(1, i1, std::min<int64_t>(i1 + 16, 40));
      const auto expected = static_cast<int64_t>(std::floor(sp * static_cast<double>(blk.numel()))) + 1;
      EXPECT_EQ((blk == 0).sum().item<int64_t>(), expected) << "sparsity " << sp << ", block at " << i1;
    }
    // the kept weights were updated, not only masked
    const auto kept = out != 0;
    EXPECT_FALSE(torch::equal(out.masked_select(kept), W.masked_select(kept)));
  }
}

TEST(SparseGpt, NofMPrunesNInEveryGroupOfEachRow) {
  torch::manual_seed(5);
  const auto W = torch::randn({10, 32});
  const auto out = sparsegpt_prune_linear(W, random_hessian(32, 100, 6), 0.5, Structure{2, 4}, SparseGptOptions{}, "w");
  const auto zeros_per_group = (out == 0).reshape({10, 8, 4}).sum(2);
  EXPECT_TRUE((zeros_per_group == 2).all().item<bool>());
}

TEST(SparseGpt, DeadInputsZeroTheirColumns) {
  torch::manual_seed(7);
  const auto W = torch::randn({6, 8});
  auto H = random_hessian(8, 50, 8);
  H.select(0, 3).zero_();
  H.select(1, 3).zero_();  // input 3 never active
  const auto out = sparsegpt_prune_linear(W, H, 0.25, Structure{}, SparseGptOptions{}, "w");
  EXPECT_TRUE((out.select(1, 3) == 0).all().item<bool>());
}

TEST(SparseGpt, ZeroSparsityLeavesTheWeightAlone) {
  const auto W = torch::randn({4, 8});
  EXPECT_TRUE(torch::equal(sparsegpt_prune_linear(W, random_hessian(8, 20, 1), 0.0, Structure{}, SparseGptOptions{}, "w"), W));
}

TEST(SparseGpt, AFailedCholeskyIsRetriedWithTenfoldDampeningThenRefused) {
  // eigenvalues -3 and 5: positive definite only once λ·mean(diag) = λ exceeds 3
  const auto H = torch::tensor({{1.0, 4.0}, {4.0, 1.0}}, torch::kFloat64);
  const auto W = torch::tensor({{0.5f, -1.0f}, {2.0f, 0.25f}});
  SparseGptOptions opt;
  opt.damp = 0.01;  // 0.01, 0.1, 1 fail; the third retry, 10, succeeds
  EXPECT_EQ((sparsegpt_prune_linear(W, H, 0.5, Structure{}, opt, "w") == 0).sum().item<int64_t>(), 3);
  opt.damp = 0.001;  // 0.001 ... 1: every try fails
  try {
    sparsegpt_prune_linear(W, H, 0.5, Structure{}, opt, "model.layers.0.mlp.up_proj.weight");
    FAIL() << "expected a refusal";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.mlp.up_proj.weight"), std::string::npos) << e.what();
  }
}

TEST(Ria, ScoresAreRelativeImportanceTimesActivationPower) {
  const auto W = torch::tensor({{1.0f, -2.0f}, {3.0f, 4.0f}});
  const auto act = torch::tensor({4.0f, 9.0f});  // sqrt(L2sq)
  const auto s = ria_scores(W, act, 0.5);
  // column sums 4, 6; row sums 3, 7
  const auto expected = torch::tensor({{(1.0f / 4 + 1.0f / 3) * 2, (2.0f / 6 + 2.0f / 3) * 3},
                                       {(3.0f / 4 + 3.0f / 7) * 2, (4.0f / 6 + 4.0f / 7) * 3}});
  EXPECT_TRUE(torch::allclose(s, expected, 1e-6, 1e-6)) << s;
}

TEST(Owl, OutlierRatioCountsScoresAboveMTimesTheMean) {
  // mean 20.8 over both tensors; above 2 x 20.8: one of five
  EXPECT_DOUBLE_EQ(outlier_ratio({torch::tensor({1.0f, 1.0f}), torch::tensor({{1.0f, 1.0f, 100.0f}})}, 2.0), 20.0);
  EXPECT_DOUBLE_EQ(outlier_ratio({torch::tensor({1.0f, 1.0f, 1.0f})}, 1.0), 0.0);  // equal to M x mean is not above
}

TEST(Owl, SparsitiesSpreadOverTwoLambdaAroundTheTarget) {
  const auto s = owl_sparsities({1.0, 2.0, 3.0}, 0.5, 0.1);  // r = 0, 0.1, 0.2 -> 0.4, 0.5, 0.6 kept
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 0.6, 1e-12);
  EXPECT_NEAR(s[1], 0.5, 1e-12);
  EXPECT_NEAR(s[2], 0.4, 1e-12);
  EXPECT_EQ(owl_sparsities({2.0, 2.0}, 0.7, 0.08), (std::vector<double>{0.7, 0.7}));  // nothing to spread
  const auto low = owl_sparsities({1.0, 2.0, 3.0}, 0.05, 0.08);  // 0.13, 0.05, -0.03 -> clamped to 0.01
  EXPECT_NEAR(low[0], 0.13, 1e-12);
  EXPECT_DOUBLE_EQ(low[2], 0.01);
}

// Every method, at the extremes of its options, prunes exactly the count its rule says: per row
// floor(S·in) (Wanda's family, DSnoT), per matrix floor(S·numel) (magnitude), floor(S·numel) + 1
// at or below the threshold (RIA, SparseGPT's one block), numel − round(numel·(1−S)) (ALPS), and
// N of every M under N:M. Variances span e^±9, so var^p under- and overflows at |p| of 200 and more.
namespace {
struct MethodCase {
  std::string name;
  MethodOptions opt;
};

std::vector<MethodCase> method_cases() {
  std::vector<MethodCase> out;
  auto add = [&](const std::string& name, Method m, const std::function<void(MethodOptions&)>& set) {
    MethodOptions o;
    o.method = m;
    set(o);
    out.push_back({name, o});
  };
  add("magnitude", Method::magnitude, [](MethodOptions&) {});
  for (double a : {0.0, 1.0}) add("en alpha " + std::to_string(a), Method::en, [a](MethodOptions& o) { o.alpha = a; });
  add("wanda", Method::wanda, [](MethodOptions&) {});
  for (double p : {0.0, 0.5, 8.0}) add("ria power " + std::to_string(p), Method::ria, [p](MethodOptions& o) { o.ria.power = p; });
  for (int64_t b : {1, 128}) add("sparsegpt block " + std::to_string(b), Method::sparsegpt, [b](MethodOptions& o) { o.sparsegpt.block = b; });
  for (double p : {0.0, 1.0, 200.0, -1e6, 1e6, 1e300, -1e300})
    add("dsnot pow-var " + std::to_string(p), Method::dsnot, [p](MethodOptions& o) {
      o.dsnot.pow_var = p;
      o.dsnot.threshold = 0.0;
      o.dsnot.cycles = 1000;
      o.dsnot.skip = DsnotSkip::none;
    });
  for (int64_t it : {0, 1, 300}) add("alps iters " + std::to_string(it), Method::alps, [it](MethodOptions& o) { o.alps.iters = it; });
  return out;
}

int64_t due_zeros(Method m, double sp, const torch::Tensor& W, int64_t sparsegpt_block) {
  const int64_t rows = W.size(0), cols = W.size(1), numel = W.numel();
  const auto fl = [](double x) { return static_cast<int64_t>(std::floor(x)); };
  switch (m) {
    case Method::magnitude: return fl(sp * numel);
    case Method::ria: return fl(sp * numel) + 1;
    case Method::sparsegpt: {
      int64_t z = 0;
      for (int64_t c = 0; c < cols; c += sparsegpt_block) z += fl(sp * rows * std::min(sparsegpt_block, cols - c)) + 1;
      return z;
    }
    case Method::alps: return numel - static_cast<int64_t>(std::nearbyint((1.0 - sp) * numel));
    default: return rows * fl(sp * cols);
  }
}
}  // namespace

TEST(Methods, EveryMethodPrunesExactlyTheDueCountAtItsExtremes) {
  const int64_t hidden = 16, inter = 32, tokens = 96;
  torch::manual_seed(11);
  LayerWeights base;
  const int64_t outs[7] = {hidden, hidden, hidden, hidden, inter, inter, hidden};
  const int64_t ins[7] = {hidden, hidden, hidden, hidden, hidden, hidden, inter};
  for (int j = 0; j < 7; ++j) base.linears[j] = torch::randn({outs[j], ins[j]});
  LayerEvidence ev;
  InputGrams grams;
  for (int j = 0; j < 7; ++j) {
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
    ev.stats[j] = {torch::rand({ins[j]}, f64) + 0.1, torch::rand({ins[j]}, f64) + 0.1, torch::randn({ins[j]}, f64),
                   (torch::randn({ins[j]}, f64) * 3.0).exp()};
  }
  for (auto in : {LinearInput::attn, LinearInput::o_proj, LinearInput::mlp, LinearInput::down_proj})
    grams.add(in, torch::randn({1, tokens, in == LinearInput::down_proj ? inter : hidden}));
  ev.grams = &grams;
  for (const MethodCase& c : method_cases()) {
    for (const Structure& st : {Structure{}, Structure{2, 4}, Structure{1, 4}, Structure{3, 4}}) {
      for (double sp : st.nm() ? std::vector<double>{0.5} : std::vector<double>{0.05, 0.5, 0.95}) {
        MethodOptions o = c.opt;
        o.structure = st;
        if (o.method == Method::sparsegpt && st.nm() && o.sparsegpt.block % st.m != 0) continue;  // refused by the plan
        LayerWeights w = base;
        for (auto& t : w.linears) t = t.clone();
        LinearTargets targets;
        targets.fill(sp);
        make_layer_method(o)->prune_layer(w, ev, targets);
        for (int j = 0; j < 7; ++j) {
          const auto zeros = w.linears[j].eq(0);
          const std::string where = c.name + ", " + (st.nm() ? st.str() : "sparsity " + std::to_string(sp)) + ", linear " + std::to_string(j);
          ASSERT_TRUE(w.linears[j].isfinite().all().item<bool>()) << where;
          if (st.nm()) {
            EXPECT_TRUE((zeros.reshape({outs[j], ins[j] / st.m, st.m}).sum(2) == st.n).all().item<bool>()) << where;
          } else if (o.method == Method::magnitude || o.method == Method::ria || o.method == Method::sparsegpt ||
                     o.method == Method::alps) {
            EXPECT_EQ(zeros.sum().item<int64_t>(), due_zeros(o.method, sp, w.linears[j], o.sparsegpt.block)) << where;
          } else {
            EXPECT_TRUE((zeros.sum(1) == due_zeros(o.method, sp, w.linears[j], 0) / outs[j]).all().item<bool>())
                << where << ": zeros per row " << zeros.sum(1);
          }
        }
      }
    }
  }
}
