#include "enwanda/text/calibration.h"

#include <array>
#include <cstring>
#include <random>

#include "enwanda/errors.h"
#include "enwanda/io/npy.h"
#include "enwanda/text/text_corpus.h"

namespace enwanda {

std::vector<int64_t> draw_window_starts(int64_t ntokens, int64_t seqlen, int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const uint64_t range = static_cast<uint64_t>(ntokens - seqlen) + 1;  // starts in [0, ntokens - seqlen]
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < count; ++i) starts.push_back(static_cast<int64_t>(rng() % range));
  return starts;
}

torch::Tensor load_calibration(const CalibrationOptions& opt, const Tokenizer* tok, int64_t vocab_size) {
  if (!opt.tokens_path.empty()) return read_token_npy(opt.tokens_path, vocab_size);
  if (opt.nsamples <= 0 || opt.seqlen < 2 || opt.calib_mult <= 0)
    throw UsageError("--nsamples and --calib-mult must be positive and --seqlen at least 2");
  std::string text = read_text_corpus(opt.text_paths);
  std::vector<int64_t> ids = tokenize_corpus(*tok, text);
  const int64_t count = opt.nsamples * opt.calib_mult;
  const int64_t needed = opt.nsamples * opt.seqlen;
  if (static_cast<int64_t>(ids.size()) < needed)
    throw InputError(opt.text_paths[0] + ": calibration text has " + std::to_string(ids.size()) +
                     " tokens but nsamples x seqlen = " + std::to_string(opt.nsamples) + " x " +
                     std::to_string(opt.seqlen) + " needs " + std::to_string(needed));
  for (int64_t id : ids)
    if (id >= vocab_size)
      throw InputError("tokenizer produced id " + std::to_string(id) + " >= the model's vocab_size " + std::to_string(vocab_size));
  auto starts = draw_window_starts(static_cast<int64_t>(ids.size()), opt.seqlen, count, opt.seed);
  auto out = torch::empty({count, opt.seqlen}, torch::kInt64);
  auto* p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) std::memcpy(p + i * opt.seqlen, ids.data() + starts[i], sizeof(int64_t) * opt.seqlen);
  return out;
}

// --- SHA-256 (FIPS 180-4), for provenance of calibration sets ---------------------------
namespace {
constexpr std::array<uint32_t, 64> K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
    0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
    0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
}  // namespace

std::string sha256_hex(const void* data, size_t n) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::vector<uint8_t> msg(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + n);
  uint64_t bits = static_cast<uint64_t>(n) * 8;
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(msg[off + 4 * i]) << 24) | (uint32_t(msg[off + 4 * i + 1]) << 16) | (uint32_t(msg[off + 4 * i + 2]) << 8) | msg[off + 4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  char out[65];
  for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
  return std::string(out, 64);
}

std::string tokens_sha256(const torch::Tensor& tokens) {
  auto t = tokens.to(torch::kInt64).contiguous();
  return sha256_hex(t.data_ptr(), t.numel() * sizeof(int64_t));
}

}  // namespace enwanda
