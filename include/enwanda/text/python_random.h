// Python's `random` module, draw for draw: the MT19937 generator that CPython's Modules/_randommodule.c
// implements, seeded as `random.seed(int)` seeds it, and getrandbits / randint as Lib/random.py builds
// them. The papers' calibration loaders (locuslab/wanda lib/data.py get_c4 and get_wikitext2;
// IST-DASLab/sparsegpt datautils.py) seed Python's module-level `random` and call randint; drawing
// through this class gives their windows exactly. It is not std::mt19937: the seeding differs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace enwanda {

class PythonRandom {
 public:
  // random.seed(seed) for an int seed; a negative seed is seeded as its absolute value.
  explicit PythonRandom(int64_t seed);
  // random.seed(n) for n >= 0 given as 32-bit words, least significant first (2^64 + 5 = {5, 0, 1}).
  explicit PythonRandom(const std::vector<uint32_t>& seed_words);

  uint32_t next_u32();  // genrand_uint32: one tempered draw
  // random.getrandbits(k), k in [0, 64]: k = 0 draws nothing.
  uint64_t getrandbits(int k);
  // random.randint(a, b): a + r with r = getrandbits(bit_length(b - a + 1)) drawn until r < b - a + 1.
  // randint(a, a) still draws. Throws UsageError when b < a.
  int64_t randint(int64_t a, int64_t b);

 private:
  void init_by_array(const std::vector<uint32_t>& key);
  std::array<uint32_t, 624> mt_{};
  int index_ = 625;
};

}  // namespace enwanda
