// prune() end to end on the tiny GQA checkpoint: exact per-row sparsity, N:M, untouched tensors
// byte-identical, the report, reusable statistics, refusals, and nothing half-written.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/io/npy.h"
#include "enwanda/prune/pruner.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {
const std::string& calib_tokens() { return fixtures::tiny_calib_tokens(6, 32, 11); }

PruneOptions base_options(const std::string& out) {
  PruneOptions o;
  o.model_dir = fixtures::tiny_checkpoint();
  o.calib.tokens_path = calib_tokens();
  o.out_dir = out;
  return o;
}

std::map<std::string, torch::Tensor> masks_of(const std::string& dir) {
  auto ck = Checkpoint::open(dir);
  std::map<std::string, torch::Tensor> m;
  for (int64_t i = 0; i < ck->config().num_hidden_layers; ++i)
    for (const auto& l : kLinearNames) m[layer_tensor_name(i, l)] = ck->tensor(layer_tensor_name(i, l)) == 0;
  return m;
}

bool same_masks(const std::string& a, const std::string& b) {
  auto ma = masks_of(a), mb = masks_of(b);
  for (const auto& [k, v] : ma)
    if (!torch::equal(v, mb.at(k))) return false;
  return true;
}
}  // namespace

TEST(Prune, ExactRowSparsityAndUntouchedBytes) {
  std::string out = fixtures::temp_dir("p1") + "/out";
  auto o = base_options(out);
  o.sparsity = 0.6;
  auto report = prune(o);
  auto in = Checkpoint::open(o.model_dir), pruned = Checkpoint::open(out);
  for (const auto& name : in->tensor_names()) {
    const auto& info = in->info(name);
    const bool linear = name.find("_proj") != std::string::npos;
    if (!linear) {
      ASSERT_EQ(0, std::memcmp(in->file_of(name).data(info), pruned->file_of(name).data(pruned->info(name)), info.nbytes()))
          << name << " changed";
    } else {
      auto zeros_per_row = (pruned->tensor(name) == 0).sum(1);
      EXPECT_TRUE((zeros_per_row == static_cast<int64_t>(std::floor(0.6 * info.shape[1]))).all().item<bool>()) << name;
    }
  }
  EXPECT_TRUE(fs::exists(out + "/enwanda_report.json"));
  EXPECT_EQ(report["layers"].size(), 2u);
  EXPECT_EQ(report["settings"]["method"], "en");
  EXPECT_EQ(report["calibration_sha256"].get<std::string>().size(), 64u);
  for (const char* phase : {"load", "calibration", "statistics", "scoring", "writing", "total"})
    EXPECT_TRUE(report["seconds"].contains(phase)) << phase;
  // nothing left beside the output
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(Prune, NMStructureInEveryGroup) {
  std::string out = fixtures::temp_dir("p2") + "/out";
  auto o = base_options(out);
  o.structure = parse_structure("2:4");
  prune(o);
  for (const auto& [name, mask] : masks_of(out)) {
    auto groups = mask.reshape({mask.size(0), -1, 4});
    EXPECT_TRUE((groups.sum(2) == 2).all().item<bool>()) << name;
  }
}

TEST(Prune, ElasticNetIdentitiesOnTheModel) {
  std::string dir = fixtures::temp_dir("p3");
  auto run = [&](const std::string& name, Method m, Geometry g, double a) {
    auto o = base_options(dir + "/" + name);
    o.method = m, o.geometry = g, o.alpha = a;
    prune(o);
    return dir + "/" + name;
  };
  EXPECT_TRUE(same_masks(run("mod0", Method::en, Geometry::modified, 0.0), run("wanda", Method::wanda, Geometry::modified, 0.5)));
  EXPECT_TRUE(same_masks(run("orig1", Method::en, Geometry::original, 1.0), run("mod1", Method::en, Geometry::modified, 1.0)));
  EXPECT_FALSE(same_masks(dir + "/mod0", dir + "/mod1"));
}

TEST(Prune, SavedStatisticsGiveIdenticalMasks) {
  std::string dir = fixtures::temp_dir("p4");
  auto o = base_options(dir + "/direct");
  o.sequential = false;
  o.save_stats = dir + "/stats.safetensors";
  o.alpha = 0.25;
  prune(o);
  auto o2 = base_options(dir + "/loaded");
  o2.sequential = false;
  o2.load_stats = dir + "/stats.safetensors";
  o2.alpha = 0.25;
  prune(o2);
  EXPECT_TRUE(same_masks(dir + "/direct", dir + "/loaded"));
  // a different calibration set is refused
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  write_token_npy(dir + "/other.npy", torch::randint(3, ck->config().vocab_size, {6, 32}, torch::kInt64));
  auto o3 = base_options(dir + "/mismatch");
  o3.sequential = false;
  o3.load_stats = dir + "/stats.safetensors";
  o3.calib.tokens_path = dir + "/other.npy";
  try {
    prune(o3);
    FAIL() << "mismatched statistics accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("calib_sha256"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/mismatch"));
}

TEST(Prune, BackgroundIoWritesTheSameBytes) {
  // The prefetching reader and the background writer change when work happens, never what is
  // written: every shard must equal, byte for byte, the one written with --no-overlap.
  std::string dir = fixtures::temp_dir("p6");
  auto read_file = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (bool sequential : {true, false}) {
    std::map<bool, std::string> out;
    for (bool overlap : {true, false}) {
      auto o = base_options(dir + "/" + std::to_string(sequential) + std::to_string(overlap));
      o.sequential = sequential;
      o.overlap_io = overlap;
      auto report = prune(o);
      EXPECT_EQ(report["settings"]["overlap_io"], overlap);
      out[overlap] = o.out_dir;
    }
    int shards = 0;
    for (const auto& e : fs::directory_iterator(out[true])) {
      if (e.path().extension() != ".safetensors") continue;
      ++shards;
      EXPECT_EQ(read_file(e.path()), read_file(fs::path(out[false]) / e.path().filename()))
          << e.path().filename() << " differs (sequential " << sequential << ")";
    }
    EXPECT_GT(shards, 0);
  }
}

TEST(Prune, RefusesExistingOutAndOutInsideModel) {
  std::string dir = fixtures::temp_dir("p5");
  fs::create_directories(dir + "/exists");
  std::ofstream(dir + "/exists/keep.txt") << "precious";
  EXPECT_THROW(prune(base_options(dir + "/exists")), UsageError);
  EXPECT_TRUE(fs::exists(dir + "/exists/keep.txt"));
  EXPECT_THROW(prune(base_options(fixtures::tiny_checkpoint())), UsageError);
  EXPECT_THROW(prune(base_options(fixtures::tiny_checkpoint() + "/sub")), UsageError);
  // --overwrite replaces only what enwanda wrote: not a directory of someone else's files
  auto o = base_options(dir + "/exists");
  o.overwrite = true;
  EXPECT_THROW(prune(o), UsageError);
  EXPECT_TRUE(fs::exists(dir + "/exists/keep.txt"));
  auto ours = base_options(dir + "/ours");
  prune(ours);
  ours.overwrite = true;
  ours.sparsity = 0.25;
  prune(ours);
  EXPECT_TRUE(fs::exists(dir + "/ours/enwanda_report.json"));
}

TEST(Prune, ValidatesOptions) {
  auto bad = [](auto mutate) {
    auto o = base_options("/tmp/never-written");
    mutate(o);
    EXPECT_THROW(validate_prune_options(o), UsageError);
  };
  bad([](PruneOptions& o) { o.alpha = -0.1; });
  bad([](PruneOptions& o) { o.alpha = 1.5; });
  bad([](PruneOptions& o) { o.sparsity = 1.0; });
  bad([](PruneOptions& o) { o.sparsity = -0.2; });
  bad([](PruneOptions& o) { o.save_stats = "x"; });  // needs --no-sequential
  bad([](PruneOptions& o) { o.calib.tokens_path.clear(); });
  bad([](PruneOptions& o) { o.regional.tf32 = true; });  // only for wanda++ / en++
  auto o = base_options("/tmp/never-written");
  o.structure = parse_structure("2:4");
  validate_prune_options(o);
  EXPECT_DOUBLE_EQ(o.sparsity, 0.5);
  // M must divide in_features (hidden 64, intermediate 176: 176 % 32 != 0)
  auto o2 = base_options(fixtures::temp_dir("p6") + "/out");
  o2.structure = parse_structure("4:32");
  EXPECT_THROW(prune(o2), UsageError);
  // TF32 is a CUDA setting: refused on the CPU before anything is written
  auto o3 = base_options(fixtures::temp_dir("p7") + "/out");
  o3.method = Method::wanda_pp;
  o3.regional.tf32 = true;
  EXPECT_THROW(prune(o3), UsageError);
  EXPECT_FALSE(fs::exists(o3.out_dir));
}
