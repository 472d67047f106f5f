// Wanda++: the regional gradient against finite differences (fp64) and against the Python
// reference's torch.autograd; γ=0 without RO equals Wanda; RO lowers the block's reconstruction
// error and keeps the exact sparsity and N:M structure.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "enwanda/model/checkpoint.h"
#include "enwanda/io/npy.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/prune/regional_gradient.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {
const std::string& calib_tokens() { return fixtures::tiny_calib_tokens(4, 24, 5); }
}  // namespace

TEST(RegionalGradient, MatchesFiniteDifferencesInFp64) {
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  const auto& c = ck->config();
  Runtime rt;
  rt.compute_dtype = torch::kFloat64;
  LayerWeights w = load_layer(*ck, 0, rt);
  for (auto& l : w.linears) l = l.detach().clone().requires_grad_(true);
  torch::manual_seed(3);
  auto x = torch::randn({1, 6, c.hidden_size}, torch::kFloat64);
  auto rope = make_rotary_tables(c, 6, rt);
  auto loss = layer_forward(w, x, rope, c).norm();
  auto grads = torch::autograd::grad({loss}, {w.linears[0], w.linears[6]});
  torch::NoGradGuard no_grad;
  for (auto [li, gi] : {std::pair<int, int>{0, 0}, {6, 1}}) {
    for (auto [r, col] : {std::pair<int64_t, int64_t>{0, 0}, {3, 7}, {10, 40}}) {
      const double h = 1e-6;
      auto& W = w.linears[li];
      const double orig = W[r][col].item<double>();
      W[r][col] = orig + h;
      double up = layer_forward(w, x, rope, c).norm().item<double>();
      W[r][col] = orig - h;
      double down = layer_forward(w, x, rope, c).norm().item<double>();
      W[r][col] = orig;
      double fd = (up - down) / (2 * h), ad = grads[gi][r][col].item<double>();
      EXPECT_NEAR(ad, fd, 1e-6 + 1e-5 * std::abs(fd)) << kLinearNames[li] << "[" << r << "," << col << "]";
    }
  }
}

TEST(RegionalGradient, EqualsThePythonReference) {
  const std::string py = "/usr/bin/python3";
  if (!fs::exists(py)) GTEST_SKIP() << "no /usr/bin/python3";
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  Runtime rt;
  LlamaModel model(ck, rt);
  auto tokens = read_token_npy(calib_tokens());
  auto hidden = model.embed(tokens);
  auto g = regional_gradient_rms(fp32_master(model.layer(0)), hidden, tokens.size(0), model.rotary(tokens.size(1)), ck->config());
  std::string out = fixtures::temp_dir("rgs") + "/g.safetensors";
  std::string cmd = py + " " ENWANDA_SOURCE_DIR "/tests/reference/reference.py rgs --model " + fixtures::tiny_checkpoint() +
                    " --tokens " + calib_tokens() + " --grads " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto ref = SafetensorsFile::open(out);
  for (size_t j = 0; j < kLinearNames.size(); ++j) {
    auto r = ref->tensor(kLinearNames[j]);
    double rel = ((g[j] - r).abs().max() / r.abs().max()).item<double>();
    EXPECT_LT(rel, 1e-5) << kLinearNames[j];
  }
}

TEST(WandaPlusPlus, GammaZeroWithoutRoEqualsWanda) {
  std::string dir = fixtures::temp_dir("wpp");
  PruneOptions a;
  a.model_dir = fixtures::tiny_checkpoint();
  a.calib.tokens_path = calib_tokens();
  a.out_dir = dir + "/wanda";
  a.method = Method::wanda;
  prune(a);
  PruneOptions b = a;
  b.out_dir = dir + "/wpp";
  b.method = Method::wanda_pp;
  b.regional.gamma = 0.0;
  b.regional.ro = false;
  prune(b);
  auto ca = Checkpoint::open(a.out_dir), cb = Checkpoint::open(b.out_dir);
  for (int64_t i = 0; i < 2; ++i)
    for (const auto& l : kLinearNames) {
      auto n = layer_tensor_name(i, l);
      EXPECT_TRUE(torch::equal(ca->tensor(n) == 0, cb->tensor(n) == 0)) << n;
    }
}

TEST(WandaPlusPlus, RegionalOptimisationLowersErrorKeepsStructure) {
  std::string dir = fixtures::temp_dir("ro");
  for (const char* structure : {"unstructured", "2:4"}) {
    PruneOptions o;
    o.model_dir = fixtures::tiny_checkpoint();
    o.calib.tokens_path = calib_tokens();
    o.out_dir = dir + "/" + std::string(structure == std::string("2:4") ? "nm" : "u");
    o.method = Method::en_pp;
    o.structure = parse_structure(structure);
    o.regional.ro_iters = 3;
    o.regional.ro_samples = 4;
    o.regional.ro_lr = 1e-4;
    auto report = prune(o);
    for (const auto& layer : report["layers"]) {
      double before = layer["regional"]["loss_before_ro"], after = layer["regional"]["loss_after_ro"];
      EXPECT_LT(after, before) << structure << " layer " << layer["layer"];
    }
    auto ck = Checkpoint::open(o.out_dir);
    for (int64_t i = 0; i < 2; ++i)
      for (const auto& l : kLinearNames) {
        auto zeros = ck->tensor(layer_tensor_name(i, l)) == 0;
        if (o.structure.nm())
          EXPECT_TRUE((zeros.reshape({zeros.size(0), -1, 4}).sum(2) == 2).all().item<bool>()) << l;
        else
          EXPECT_TRUE((zeros.sum(1) == zeros.size(1) / 2).all().item<bool>()) << l;
      }
  }
}

TEST(RegionalGradient, Tf32GuardRestoresTheGlobalSetting) {
  auto& ctx = at::globalContext();
  const bool before = ctx.allowTF32CuBLAS();
  {
    Tf32Matmuls off(false);
    EXPECT_EQ(ctx.allowTF32CuBLAS(), before);
  }
  {
    Tf32Matmuls on(true);
    EXPECT_TRUE(ctx.allowTF32CuBLAS());
  }
  EXPECT_EQ(ctx.allowTF32CuBLAS(), before);
}
