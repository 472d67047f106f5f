// PythonRandom against CPython's own `random`: the same seeds drawn through /usr/bin/python3 (or
// $ENWANDA_PYTHON) and through PythonRandom must give the same numbers, draw for draw. Skipped when
// no Python is there.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "enwanda/errors.h"
#include "enwanda/text/python_random.h"

namespace enwanda {
namespace {

std::string python() {
  const char* env = std::getenv("ENWANDA_PYTHON");
  return env ? env : "/usr/bin/python3";
}

// One script, run once: for each seed, getrandbits for several k, then randint over several ranges
// (randint(a, a) included: it draws), all on one line per seed.
const char* kScript = R"PY(
import random, sys
seeds = [0, 1, 42, -42, 2**32, 2**40, 2**64 + 5]
bits = [0, 1, 5, 31, 32, 33, 40, 63, 64]
ranges = [(0, 0), (0, 1), (3, 3), (0, 9), (-5, 5), (0, 2**31 - 1), (0, 2**32), (7, 10**12), (0, 356316)]
for s in seeds:
    random.seed(s)
    out = [random.getrandbits(k) for k in bits]
    for _ in range(3):
        out += [random.randint(a, b) for a, b in ranges]
    print(" ".join(str(v) for v in out))
)PY";

std::vector<std::vector<std::string>> python_lines() {
  const std::string cmd = python() + " -c '" + std::string(kScript) + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string all;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) all.append(buf, n);
  if (pclose(p) != 0) return {};
  std::vector<std::vector<std::string>> lines;
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    lines.emplace_back();
    for (std::string w; words >> w;) lines.back().push_back(w);
  }
  return lines;
}

TEST(PythonRandom, DrawsAsCPython) {
  const auto want = python_lines();
  if (want.empty()) GTEST_SKIP() << python() << " did not run";
  const std::vector<std::vector<uint32_t>> seeds = {{0}, {1}, {42}, {42}, {0, 1}, {0, 256}, {5, 0, 1}};
  const std::vector<int> bits = {0, 1, 5, 31, 32, 33, 40, 63, 64};
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 0}, {0, 1}, {3, 3}, {0, 9}, {-5, 5}, {0, 2147483647LL},
                                                           {0, 4294967296LL}, {7, 1000000000000LL}, {0, 356316}};
  ASSERT_EQ(want.size(), seeds.size());
  for (size_t s = 0; s < seeds.size(); ++s) {
    PythonRandom rng(seeds[s]);
    std::vector<std::string> got;
    for (int k : bits) got.push_back(std::to_string(rng.getrandbits(k)));
    for (int rep = 0; rep < 3; ++rep)
      for (auto [a, b] : ranges) got.push_back(std::to_string(rng.randint(a, b)));
    EXPECT_EQ(got, want[s]) << "seed #" << s;
  }
}

TEST(PythonRandom, IntegerSeedsAsTheirWords) {
  // random.seed(-42) seeds as 42; 2^32 as {0, 1}, which is not the seed 1
  PythonRandom neg(-42), pos(42), two32(int64_t{1} << 32), one(1), two32_words(std::vector<uint32_t>{0, 1});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(neg.next_u32(), pos.next_u32());
  EXPECT_EQ(two32.next_u32(), two32_words.next_u32());
  PythonRandom two32_again(int64_t{1} << 32);
  EXPECT_NE(two32_again.next_u32(), one.next_u32());
  EXPECT_THROW(one.randint(3, 2), UsageError);
}

}  // namespace
}  // namespace enwanda
