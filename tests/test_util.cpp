#include "test_util.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <vector>

#include <map>
#include <tuple>

#include "enwanda/model/checkpoint.h"
#include "enwanda/io/npy.h"
#include "enwanda/model/synth.h"

namespace fs = std::filesystem;

namespace enwanda::fixtures {

namespace {
struct Cleanup {
  std::vector<std::string> dirs;
  ~Cleanup() {
    for (const auto& d : dirs) {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  }
};
Cleanup& cleanup() {
  static Cleanup c;
  return c;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base ? base : "/tmp") + "/enwanda-" + tag + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  cleanup().dirs.push_back(buf.data());
  return buf.data();
}

const std::string& tiny_checkpoint() {
  static std::string dir = [] {
    std::string d = temp_dir("tiny") + "/model";
    if (const char* premade = std::getenv("ENWANDA_TEST_TINY_MODEL")) {
      fs::copy(premade, d, fs::copy_options::recursive);
      return d;
    }
    SynthOptions o;
    o.shape = "tiny";
    o.seed = 7;
    o.out = d;
    synth(o);
    return d;
  }();
  return dir;
}

const std::string& tiny_calib_tokens(int64_t rows, int64_t cols, uint64_t seed) {
  static std::map<std::tuple<int64_t, int64_t, uint64_t>, std::string> made;
  auto key = std::make_tuple(rows, cols, seed);
  auto it = made.find(key);
  if (it != made.end()) return it->second;
  auto ck = Checkpoint::open(tiny_checkpoint());
  torch::manual_seed(seed);
  std::string p = temp_dir("calib") + "/calib.npy";
  write_token_npy(p, torch::randint(3, ck->config().vocab_size, {rows, cols}, torch::kInt64));
  return made.emplace(key, p).first->second;
}

bool check_tensor(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol, const std::string& label) {
  auto x = a.to(torch::kFloat64).reshape({-1}), y = b.to(torch::kFloat64).reshape({-1});
  double maxdiff = (x - y).abs().max().item<double>();
  bool ok = torch::allclose(x, y, rtol, atol);
  std::printf("%s: %s, max |diff| %.3e, first values:", label.c_str(), ok ? "OK" : "MISMATCH", maxdiff);
  for (int64_t i = 0; i < std::min<int64_t>(3, x.numel()); ++i)
    std::printf(" %.6g/%.6g", x[i].item<double>(), y[i].item<double>());
  std::printf("\n");
  return ok;
}

}  // namespace enwanda::fixtures
