// CPython's random module (Modules/_randommodule.c: init_genrand, init_by_array, genrand_uint32,
// random_seed, _random_Random_getrandbits_impl; Lib/random.py: Random.randint, Random.randrange,
// Random._randbelow_with_getrandbits), written from the MT19937 reference (Matsumoto and
// Nishimura, mt19937ar.c) and the rules those functions follow.
#include "enwanda/text/python_random.h"

#include <string>

#include "enwanda/errors.h"

namespace enwanda {

namespace {
constexpr int kN = 624, kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU, kUpperMask = 0x80000000U, kLowerMask = 0x7fffffffU;

// random_seed: the seed's absolute value in base 2^32, least significant word first, at least one
// word (0 -> {0}; 2^32 -> {0, 1}).
std::vector<uint32_t> seed_words(int64_t seed) {
  uint64_t n = seed < 0 ? uint64_t(0) - static_cast<uint64_t>(seed) : static_cast<uint64_t>(seed);
  std::vector<uint32_t> words;
  do {
    words.push_back(static_cast<uint32_t>(n));
    n >>= 32;
  } while (n != 0);
  return words;
}

int bit_length(uint64_t n) {
  int k = 0;
  for (; n != 0; n >>= 1) ++k;
  return k;
}
}  // namespace

PythonRandom::PythonRandom(int64_t seed) : PythonRandom(seed_words(seed)) {}

PythonRandom::PythonRandom(const std::vector<uint32_t>& words) {
  std::vector<uint32_t> key = words;
  while (key.size() > 1 && key.back() == 0) key.pop_back();  // as the int's own words: no leading zeros
  if (key.empty()) key.push_back(0);
  init_by_array(key);
}

void PythonRandom::init_by_array(const std::vector<uint32_t>& key) {
  // init_genrand(19650218)
  mt_[0] = 19650218U;
  for (int i = 1; i < kN; ++i) mt_[i] = 1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  // the two mixing loops (all arithmetic mod 2^32)
  const int len = static_cast<int>(key.size());
  int i = 1, j = 0;
  for (int k = kN > len ? kN : len; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    ++i, ++j;
    if (i >= kN) mt_[0] = mt_[kN - 1], i = 1;
    if (j >= len) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) mt_[0] = mt_[kN - 1], i = 1;
  }
  mt_[0] = 0x80000000U;  // MSB is 1, assuring a non-zero initial array
  index_ = kN;
}

uint32_t PythonRandom::next_u32() {
  if (index_ >= kN) {  // generate kN words at one time
    int k = 0;
    for (; k < kN - kM; ++k) {
      const uint32_t y = (mt_[k] & kUpperMask) | (mt_[k + 1] & kLowerMask);
      mt_[k] = mt_[k + kM] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    }
    for (; k < kN - 1; ++k) {
      const uint32_t y = (mt_[k] & kUpperMask) | (mt_[k + 1] & kLowerMask);
      mt_[k] = mt_[k + (kM - kN)] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    }
    const uint32_t y = (mt_[kN - 1] & kUpperMask) | (mt_[0] & kLowerMask);
    mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
    index_ = 0;
  }
  uint32_t y = mt_[index_++];
  // tempering
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

uint64_t PythonRandom::getrandbits(int k) {
  if (k < 0 || k > 64) throw UsageError("getrandbits: k must be in [0, 64], got " + std::to_string(k));
  if (k == 0) return 0;
  if (k <= 32) return next_u32() >> (32 - k);
  // words from the least significant up; the last keeps its top (k mod 32) bits, or all 32
  const uint64_t low = next_u32();
  const int high_bits = k - 32;
  const uint64_t high = next_u32() >> (32 - high_bits);
  return low | (high << 32);
}

int64_t PythonRandom::randint(int64_t a, int64_t b) {
  if (b < a) throw UsageError("randint(" + std::to_string(a) + ", " + std::to_string(b) + "): empty range");
  const uint64_t n = static_cast<uint64_t>(b) - static_cast<uint64_t>(a) + 1;  // randrange(a, b + 1): width n
  if (n == 0) throw UsageError("randint: a range of 2^64 values is not supported");
  const int k = bit_length(n);  // of n, not of n - 1: a power of two draws one bit more than needed
  uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return static_cast<int64_t>(static_cast<uint64_t>(a) + r);
}

}  // namespace enwanda
