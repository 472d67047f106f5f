// The mixture-of-experts block against a second formulation of the same definition: every expert
// run on every token, its output weighted by a dense [N, E] matrix that holds the top-k weights
// (zero elsewhere). Also: an expert no token chose is not run, each token reaches exactly k
// experts, renormalised weights sum to 1, and the shared expert is gated by sigmoid; RoutedStats
// (the per-expert statistics of the routed tokens) against sums over those tokens.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "enwanda/model/moe_block.h"
#include "enwanda/prune/routed_stats.h"

using namespace enwanda;

namespace {
MoeWeights random_block(int64_t experts, int64_t hidden, int64_t f, bool shared) {
  MoeWeights w;
  auto opt = torch::TensorOptions().dtype(torch::kFloat64);
  w.router = torch::randn({experts, hidden}, opt);
  for (int64_t e = 0; e < experts; ++e)
    w.experts.push_back({torch::randn({f, hidden}, opt) * 0.3, torch::randn({f, hidden}, opt) * 0.3,
                         torch::randn({hidden, f}, opt) * 0.3});
  if (shared) {
    w.shared = {torch::randn({f, hidden}, opt) * 0.3, torch::randn({f, hidden}, opt) * 0.3,
                torch::randn({hidden, f}, opt) * 0.3};
    w.shared_gate = torch::randn({1, hidden}, opt);
  }
  return w;
}

torch::Tensor swiglu(const torch::Tensor& x, const ExpertWeights& e) {
  return torch::matmul(torch::silu(torch::matmul(x, e.gate.t())) * torch::matmul(x, e.up.t()), e.down.t());
}

// Every expert on every token, weighted by the dense matrix of the top-k weights.
torch::Tensor dense_formulation(const MoeWeights& w, const torch::Tensor& x, const MoeConfig& c) {
  auto probs = torch::softmax(torch::matmul(x, w.router.t()), -1);
  auto [top, idx] = torch::topk(probs, c.top_k, -1);
  if (c.norm_topk_prob) top = top / top.sum(-1, true);
  auto weight = torch::zeros_like(probs).scatter(1, idx, top);  // [N, E]
  auto out = torch::zeros_like(x);
  for (int64_t e = 0; e < c.num_experts; ++e) out += weight.select(1, e).unsqueeze(1) * swiglu(x, w.experts[e]);
  if (w.shared_gate.defined()) out += torch::sigmoid(torch::matmul(x, w.shared_gate.t())) * swiglu(x, w.shared);
  return out;
}
}  // namespace

TEST(MoeBlock, MatchesEveryExpertOnEveryToken) {
  torch::manual_seed(1);
  for (bool norm : {false, true})
    for (bool shared : {false, true}) {
      MoeConfig c;
      c.num_experts = 6, c.top_k = 2, c.expert_intermediate_size = 12, c.norm_topk_prob = norm;
      auto w = random_block(6, 8, 12, shared);
      auto x = torch::randn({3, 5, 8}, torch::kFloat64);
      auto got = moe_forward(w, x, c);
      auto want = dense_formulation(w, x.reshape({-1, 8}), c).view({3, 5, 8});
      EXPECT_TRUE(torch::allclose(got, want, 1e-12, 1e-12)) << "norm " << norm << " shared " << shared
                                                           << ", largest difference " << (got - want).abs().max().item<double>();
    }
}

TEST(MoeBlock, RunsOnlyChosenExpertsWithTheirTokens) {
  torch::manual_seed(2);
  MoeConfig c;
  c.num_experts = 5, c.top_k = 2, c.expert_intermediate_size = 4, c.norm_topk_prob = true;
  auto w = random_block(5, 8, 4, /*shared=*/true);
  auto x = torch::randn({2, 7, 8}, torch::kFloat64);
  x.select(-1, 0).fill_(1.0);  // feature 0 is 1 on every token, so expert 3's logit is -1000 + 0:
  w.router[3].zero_();         // never among the top 2
  w.router[3][0] = -1e3;
  std::vector<int64_t> tokens(5, 0);
  int64_t shared_rows = 0;
  const ExpertObserver observe = [&](const ExpertInputs& in) {
    if (in.expert == kSharedExpert) {
      shared_rows += in.gate_up_input.size(0);
      return;
    }
    tokens[static_cast<size_t>(in.expert)] += in.tokens.numel();
    // gate/up see exactly the rows routed here, down sees their SwiGLU activation
    auto rows = x.reshape({-1, 8}).index_select(0, in.tokens);
    EXPECT_TRUE(torch::equal(in.gate_up_input, rows));
    const auto& e = w.experts[static_cast<size_t>(in.expert)];
    EXPECT_TRUE(torch::allclose(in.down_input, torch::silu(torch::matmul(rows, e.gate.t())) * torch::matmul(rows, e.up.t())));
  };
  moe_forward(w, x, c, &observe);
  EXPECT_EQ(tokens[3], 0);
  int64_t total = 0;
  for (auto n : tokens) total += n;
  EXPECT_EQ(total, 14 * 2);  // every token reaches k experts
  EXPECT_EQ(shared_rows, 14);
  const Routing r = route_tokens(w.router, x.reshape({-1, 8}), c);
  EXPECT_TRUE(torch::allclose(r.weights.sum(-1), torch::ones({14}, torch::kFloat64)));
  EXPECT_EQ(r.probs.scalar_type(), torch::kFloat64);  // fp64 stays fp64; halves go to fp32
  EXPECT_EQ(route_tokens(w.router.to(torch::kBFloat16), x.reshape({-1, 8}).to(torch::kBFloat16), c).probs.scalar_type(),
            torch::kFloat32);
}

// Per-expert statistics from the routed tokens only, divided by the number of sequences (all of
// them), and H = (2/N)·Σ x xᵀ of the one expert asked for.
TEST(RoutedStats, SumsRoutedRowsOverAllSequences) {
  torch::manual_seed(3);
  MoeConfig c;
  c.num_experts = 4, c.top_k = 2, c.expert_intermediate_size = 6, c.norm_topk_prob = false;
  auto w = random_block(4, 8, 6, /*shared=*/false);
  auto x = torch::randn({3, 5, 8}, torch::kFloat64);
  RoutedStats stats(4, /*channel_stats=*/true, /*grams_of=*/2);
  const ExpertObserver observe = stats.observer();
  moe_forward(w, x, c, &observe, /*compute_output=*/false);
  stats.set_calibration(3, 15);
  const Routing r = route_tokens(w.router, x.reshape({-1, 8}), c);
  for (int64_t e = 0; e < 4; ++e) {
    auto rows = x.reshape({-1, 8}).index_select(0, torch::nonzero(r.experts.eq(e).any(-1)).reshape({-1}));
    EXPECT_EQ(stats.tokens_of(e), rows.size(0));
    if (rows.size(0) == 0) continue;
    const ChannelStats cs = stats.channel_stats(e, /*down=*/false, StatNorm::sequences);
    EXPECT_TRUE(torch::allclose(cs.l1, rows.abs().sum(0) / 3, 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(cs.l2sq, rows.square().sum(0) / 3, 1e-6, 1e-6));
    if (e == 2) EXPECT_TRUE(torch::allclose(stats.hessian(2, false), 2.0 / 3 * torch::matmul(rows.t(), rows), 1e-10, 1e-10));
  }
}
