// The finetune stage's pure pieces: AdamW against libtorch's own torch::optim::AdamW, the linear
// warmup schedule and clip_grad_norm against their definitions (transformers, torch), and the
// adapter's W_eff: zeros kept under --mask keep, gradients reaching A and B, targets that match
// nothing refused.
#include <gtest/gtest.h>

#include <algorithm>

#include "enwanda/errors.h"
#include "enwanda/finetune/finetune.h"
#include "enwanda/finetune/lora_adapter.h"
#include "enwanda/finetune/optimizer.h"

using namespace enwanda;

TEST(Finetune, AdamWStepEqualsTorchAdamW) {
  torch::manual_seed(0);
  auto start = torch::randn({5, 7});
  auto ours = start.clone();
  auto theirs = start.clone().requires_grad_(true);
  AdamWSettings s{0.8, 0.95, 1e-6, 0.1};
  torch::optim::AdamW opt({theirs}, torch::optim::AdamWOptions(1.0).betas({0.8, 0.95}).eps(1e-6).weight_decay(0.1));
  AdamWMoments m{torch::zeros_like(ours), torch::zeros_like(ours)};
  const double lrs[] = {0.0, 0.01, 0.003, 0.02};
  for (int k = 0; k < 4; ++k) {
    auto g = torch::randn({5, 7});
    for (auto& group : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lrs[k]);
    theirs.mutable_grad() = g.clone();
    opt.step();
    adamw_step(ours, g, m, k + 1, lrs[k], s);
  }
  EXPECT_TRUE(torch::allclose(ours, theirs.detach(), 1e-6, 1e-7)) << (ours - theirs).abs().max().item<double>();
  EXPECT_FALSE(torch::equal(ours, start));
}

TEST(Finetune, LinearScheduleWithWarmup) {
  // transformers' get_linear_schedule_with_warmup: warmup 2 of 6 steps
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 0, 6, 2), 0.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 1, 6, 2), 0.5);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 2, 6, 2), 1.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 5, 6, 2), 0.25);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 0, 4, 0), 1.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::linear, 7, 6, 2), 0.0);
  EXPECT_DOUBLE_EQ(lr_lambda(Schedule::constant, 0, 6, 2), 1.0);
}

TEST(Finetune, ClipGradNormScalesToTheGlobalNorm) {
  std::vector<torch::Tensor> g{torch::tensor({3.0f}), torch::tensor({0.0f, 4.0f})};
  EXPECT_NEAR(clip_grad_norm(g, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(g[0].item<float>(), 3.0 / (5.0 + 1e-6), 1e-6);
  EXPECT_NEAR(g[1][1].item<float>(), 4.0 / (5.0 + 1e-6), 1e-6);
  std::vector<torch::Tensor> small{torch::tensor({0.3f})};
  EXPECT_NEAR(clip_grad_norm(small, 1.0), 0.3, 1e-6);
  EXPECT_FLOAT_EQ(small[0].item<float>(), 0.3f);  // coefficient clamped to 1
}

TEST(Finetune, StepRowsWrapAround) {
  EXPECT_EQ(step_rows(0, 2, 5), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(step_rows(2, 2, 5), (std::vector<int64_t>{4, 0}));
  // shuffled: each epoch a permutation of its own, every window once per epoch
  std::vector<int64_t> epoch0, epoch1;
  for (int64_t k = 0; k < 5; ++k) {
    auto r = step_rows(k, 2, 5, 11);
    for (size_t j = 0; j < r.size(); ++j) (k * 2 + static_cast<int64_t>(j) < 5 ? epoch0 : epoch1).push_back(r[j]);
  }
  auto sorted0 = epoch0, sorted1 = epoch1;
  std::sort(sorted0.begin(), sorted0.end());
  std::sort(sorted1.begin(), sorted1.end());
  EXPECT_EQ(sorted0, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sorted1, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_NE(epoch0, epoch1);
}

TEST(Finetune, GroupTextsConcatenatesAndDropsTheRemainder) {
  auto w = group_texts({{1, 2, 3}, {1, 4}, {1, 5, 6, 7}}, 4, "test");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_TRUE(torch::equal(w, torch::tensor({1, 2, 3, 1, 4, 1, 5, 6}, torch::kInt64).view({2, 4})));
  EXPECT_THROW(group_texts({{1, 2}}, 4, "test"), InputError);
}

namespace {
// One layer whose q_proj has zeros in a checkerboard.
struct OneLayer {
  LlamaConfig cfg;
  std::vector<LayerWeights> layers{1};
  OneLayer() {
    cfg.num_hidden_layers = 1;
    torch::manual_seed(1);
    for (auto& l : layers[0].linears) l = torch::randn({6, 8});
    auto pattern = (torch::arange(48).view({6, 8}) % 2 == 0).to(torch::kFloat32);
    layers[0].linears[0] = layers[0].linears[0] * pattern;
  }
};
}  // namespace

TEST(Finetune, MaskKeepKeepsEveryZeroAndGradientsReachAAndB) {
  OneLayer m;
  LoraSettings s;
  s.r = 2;
  s.targets = {"q_proj"};
  LoraAdapter keep(s, m.cfg, m.layers);
  ASSERT_EQ(keep.targets().size(), 1u);
  EXPECT_EQ(keep.targets()[0].name, "model.layers.0.self_attn.q_proj");
  keep.init_kaiming(3);
  {
    torch::NoGradGuard g;
    keep.targets()[0].B.normal_();
  }
  auto eff = keep.effective(m.layers[0], 0);
  const auto& W = m.layers[0].linears[0];
  EXPECT_TRUE(torch::equal(eff.linears[0].detach().masked_select(W == 0), torch::zeros({24})));
  EXPECT_FALSE(torch::allclose(eff.linears[0].detach(), W));
  EXPECT_TRUE(eff.linears[1].is_same(m.layers[0].linears[1]));  // k_proj untouched
  eff.linears[0].sum().backward();
  EXPECT_GT(keep.targets()[0].A.grad().abs().sum().item<double>(), 0);
  EXPECT_GT(keep.targets()[0].B.grad().abs().sum().item<double>(), 0);

  s.mask = MaskMode::none;
  LoraAdapter dense(s, m.cfg, m.layers);
  dense.init_kaiming(3);
  {
    torch::NoGradGuard g;
    dense.targets()[0].B.normal_();
  }
  EXPECT_EQ(torch::count_nonzero(dense.merged_weight(dense.targets()[0], W)).item<int64_t>(), 48);
}

TEST(Finetune, KaimingInitBoundsAndBZero) {
  OneLayer m;
  LoraSettings s;
  s.targets = {"q_proj", "v_proj"};
  LoraAdapter a(s, m.cfg, m.layers);
  a.init_kaiming(7);
  ASSERT_EQ(a.targets().size(), 2u);
  const double bound = 1.0 / std::sqrt(8.0);
  for (const auto& t : a.targets()) {
    EXPECT_LE(t.A.abs().max().item<double>(), bound);
    EXPECT_GT(t.A.abs().max().item<double>(), bound / 2);
    EXPECT_EQ(torch::count_nonzero(t.B).item<int64_t>(), 0);
  }
  LoraAdapter again(s, m.cfg, m.layers);
  again.init_kaiming(7);
  EXPECT_TRUE(torch::equal(again.targets()[1].A, a.targets()[1].A));
}

TEST(Finetune, TargetsMatchingNothingAreRefused) {
  OneLayer m;
  LoraSettings s;
  s.targets = {"q_proj", "qproj"};
  EXPECT_THROW(LoraAdapter(s, m.cfg, m.layers), UsageError);
  s.targets = {"re:.*\\.mlp\\..*"};
  LoraAdapter mlp(s, m.cfg, m.layers);
  EXPECT_EQ(mlp.targets().size(), 3u);
  s.targets = {"proj"};  // a short name matches a whole last component, not a suffix
  EXPECT_THROW(LoraAdapter(s, m.cfg, m.layers), UsageError);
}
