// Which linears are pruned and at which sparsity (--targets, --ignore, --sparsity-of): the
// matching rule, linears left out written byte for byte, per-type sparsities achieved exactly (with
// OWL scaling them per layer), the report's targets, and patterns that match nothing refused
// before anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "enwanda/errors.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/prune/linear_selection.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/prune/reproduce.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {
PruneOptions base_options(const std::string& out) {
  PruneOptions o;
  o.model_dir = fixtures::tiny_checkpoint();
  o.calib.tokens_path = fixtures::tiny_calib_tokens(6, 32, 11);
  o.out_dir = out;
  return o;
}

bool same_bytes(const Checkpoint& a, const Checkpoint& b, const std::string& name) {
  const auto& ia = a.info(name);
  const auto& ib = b.info(name);
  return ia.nbytes() == ib.nbytes() && std::memcmp(a.file_of(name).data(ia), b.file_of(name).data(ib), ia.nbytes()) == 0;
}

// Every row of `name` holds exactly floor(in_features · s) zeros.
bool exact_rows(const Checkpoint& ck, const std::string& name, double s) {
  const auto w = ck.tensor(name);
  const auto want = static_cast<int64_t>(std::floor(s * static_cast<double>(w.size(1))));
  return ((w == 0).sum(1) == want).all().item<bool>();
}
}  // namespace

TEST(LinearSelection, MatchesAsLlmCompressor) {
  const std::string q = "model.layers.3.self_attn.q_proj";
  EXPECT_TRUE(linear_matches(q, q, "--targets"));                        // an exact name
  EXPECT_FALSE(linear_matches("self_attn.q_proj", q, "--targets"));      // without re: no substring
  EXPECT_TRUE(linear_matches("re:.*q_proj", q, "--targets"));            // re.match: from the start
  EXPECT_FALSE(linear_matches("re:q_proj", q, "--targets"));             // ... so not in the middle
  EXPECT_TRUE(linear_matches("re:model\\.layers\\.3\\.", q, "--targets"));  // not anchored at the end
  EXPECT_FALSE(linear_matches("re:model\\.layers\\.3$", q, "--targets"));
  EXPECT_TRUE(linear_matches("Linear", q, "--targets"));                 // the class name: every linear
  EXPECT_THROW(linear_matches("re:model.(", q, "--ignore"), UsageError);
}

TEST(LinearSelection, ResolvesTargetsMinusIgnore) {
  LinearSelection s;
  s.targets = {"re:.*self_attn", "model.layers.1.mlp.down_proj"};
  s.ignore = {"re:.*k_proj"};
  const PrunedLinears p(s, 2);
  EXPECT_TRUE(p.pruned(0, 0));   // q
  EXPECT_FALSE(p.pruned(0, 1));  // k: ignored
  EXPECT_TRUE(p.pruned(1, 3));   // o
  EXPECT_FALSE(p.pruned(0, 6));  // down of layer 0: not a target
  EXPECT_TRUE(p.pruned(1, 6));   // down of layer 1
  EXPECT_EQ(p.count(), 2 * 3 + 1);
  EXPECT_EQ(PrunedLinears().count(), -1);
}

TEST(LinearSelection, PatternThatMatchesNothingIsNamed) {
  for (const auto& [targets, ignore, named] :
       std::vector<std::tuple<std::vector<std::string>, std::vector<std::string>, std::string>>{
           {{"re:.*q_proj", "re:.*qproj"}, {}, "--targets re:.*qproj"},
           {{}, {"model.layers.2.mlp.up_proj"}, "--ignore model.layers.2.mlp.up_proj"},  // 2 layers: 0 and 1
           {{}, {"mlp.up_proj"}, "--ignore mlp.up_proj"}}) {
    LinearSelection s;
    s.targets = targets;
    s.ignore = ignore;
    try {
      PrunedLinears(s, 2);
      ADD_FAILURE() << named << " was accepted";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    }
  }
}

TEST(LinearSelection, SparsityOfATypeNoTargetSelectsIsRefused) {
  LinearSelection s;
  s.targets = {"re:.*mlp\\."};
  s.sparsity_of = {{"q", 0.3}};
  try {
    PrunedLinears(s, 2);
    ADD_FAILURE() << "--sparsity-of q=0.3 with only the MLP targeted was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--sparsity-of q=0.3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("self_attn.q_proj, which --targets/--ignore leave dense"), std::string::npos) << e.what();
  }
  s.sparsity_of = {{"up", 0.3}};
  EXPECT_NO_THROW(PrunedLinears(s, 2));
  s.targets = {"model.layers.1.self_attn.q_proj"};  // one layer's q is enough
  s.sparsity_of = {{"q", 0.3}};
  EXPECT_NO_THROW(PrunedLinears(s, 2));
}

TEST(LinearSelection, ParsesSparsityOf) {
  EXPECT_EQ(parse_sparsity_of("gate=0.25"), (std::pair<std::string, double>{"gate", 0.25}));
  for (const char* bad : {"gate", "gate_proj=0.5", "q=1", "q=-0.1", "q=half", "q=", "q=nan", "q=inf", "q=1e999", "q=0.5 "})
    EXPECT_THROW(parse_sparsity_of(bad), UsageError) << bad;
}

TEST(PruneSelection, IgnoredLinearsAreByteIdentical) {
  for (Method m : {Method::wanda, Method::sparsegpt, Method::wanda_pp}) {
    const std::string out = fixtures::temp_dir("sel_ignore") + "/out";
    auto o = base_options(out);
    o.method = m;
    o.sparsity = 0.5;
    if (m == Method::wanda_pp) o.regional.ro_iters = 1;
    o.linears.ignore = {"re:.*mlp\\.", "model.layers.1.self_attn.v_proj"};
    const auto report = prune(o);
    auto in = Checkpoint::open(o.model_dir), pruned = Checkpoint::open(out);
    for (int64_t i = 0; i < 2; ++i)
      for (size_t j = 0; j < kLinearNames.size(); ++j) {
        const std::string name = layer_tensor_name(i, kLinearNames[j]);
        const bool ignored = j >= 4 || (i == 1 && j == 2);
        const auto& entry = report["layers"][i]["linears"][kLinearNames[j]];
        if (ignored) {
          EXPECT_TRUE(same_bytes(*in, *pruned, name)) << method_name(m) << " " << name;
          EXPECT_TRUE(entry["target"].is_null()) << name;
          EXPECT_EQ(entry["achieved"].get<double>(), 0.0) << name;
        } else {
          EXPECT_FALSE(same_bytes(*in, *pruned, name)) << method_name(m) << " " << name;
          EXPECT_EQ(entry["target"].get<double>(), 0.5) << name;
          if (m == Method::wanda) EXPECT_TRUE(exact_rows(*pruned, name, 0.5)) << name;
        }
      }
  }
}

TEST(PruneSelection, TargetsRestrictAndReportRecordsThem) {
  const std::string out = fixtures::temp_dir("sel_targets") + "/out";
  auto o = base_options(out);
  o.method = Method::wanda;
  o.sparsity = 0.6;
  o.linears.targets = {"re:model\\.layers\\.1\\.", "model.layers.0.mlp.up_proj"};
  const auto report = prune(o);
  auto in = Checkpoint::open(o.model_dir), pruned = Checkpoint::open(out);
  for (int64_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const std::string name = layer_tensor_name(i, kLinearNames[j]);
      if (i == 1 || j == 5) EXPECT_TRUE(exact_rows(*pruned, name, 0.6)) << name;
      else EXPECT_TRUE(same_bytes(*in, *pruned, name)) << name;
    }
  EXPECT_EQ(report["settings"]["linears"]["targets"].size(), 2u);
  const std::string cmd = report["reproduce"];
  EXPECT_NE(cmd.find("--targets 're:model\\.layers\\.1\\.'"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("--targets model.layers.0.mlp.up_proj"), std::string::npos) << cmd;
}

TEST(PruneSelection, SparsityOfEachTypeIsAchieved) {
  const std::string out = fixtures::temp_dir("sel_types") + "/out";
  auto o = base_options(out);
  o.method = Method::wanda;
  o.sparsity = 0.5;
  o.linears.sparsity_of = {{"q", 0.25}, {"down", 0.75}, {"gate", 0.0}};
  const auto report = prune(o);
  auto pruned = Checkpoint::open(out);
  const std::vector<double> want = {0.25, 0.5, 0.5, 0.5, 0.0, 0.5, 0.75};
  for (int64_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      EXPECT_TRUE(exact_rows(*pruned, layer_tensor_name(i, kLinearNames[j]), want[j])) << i << " " << kLinearNames[j];
      EXPECT_EQ(report["layers"][i]["linears"][kLinearNames[j]]["target"].get<double>(), want[j]);
    }
  const std::string cmd = report["reproduce"];
  EXPECT_NE(cmd.find("--sparsity-of down=0.75"), std::string::npos) << cmd;
}

TEST(PruneSelection, OwlScalesTheTypeSparsities) {
  const std::string out = fixtures::temp_dir("sel_owl") + "/out";
  auto o = base_options(out);
  o.method = Method::wanda;
  o.sparsity = 0.5;
  o.allocation = Allocation::owl;
  o.owl.lambda = 0.2;
  o.linears.sparsity_of = {{"up", 0.3}};
  const auto report = prune(o);
  auto pruned = Checkpoint::open(out);
  double spread = 0.0;
  for (int64_t i = 0; i < 2; ++i) {
    const double s_l = report["layers"][i]["target_sparsity"].get<double>();
    spread = std::max(spread, std::abs(s_l - 0.5));
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      const double target = j == 5 ? 0.3 * s_l / 0.5 : s_l;
      EXPECT_DOUBLE_EQ(report["layers"][i]["linears"][kLinearNames[j]]["target"].get<double>(), target);
      EXPECT_TRUE(exact_rows(*pruned, layer_tensor_name(i, kLinearNames[j]), target)) << i << " " << kLinearNames[j];
    }
  }
  EXPECT_GT(spread, 0.0);  // OWL did move the layers apart, so the scaling was exercised
}

TEST(PruneSelection, RefusedBeforeAnythingIsWritten) {
  const std::string dir = fixtures::temp_dir("sel_refuse");
  auto o = base_options(dir + "/out");
  o.linears.ignore = {"re:.*gate_proj", "re:.*o_prj"};
  try {
    prune(o);
    ADD_FAILURE() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--ignore re:.*o_prj"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir));
  auto nm = base_options(dir + "/out");
  nm.structure = parse_structure("2:4");
  nm.linears.sparsity_of = {{"q", 0.25}};
  EXPECT_THROW(prune(nm), UsageError);
  EXPECT_TRUE(fs::is_empty(dir));
}
