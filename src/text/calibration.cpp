#include "enwanda/text/calibration.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <cstring>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/npy.h"
#include "enwanda/text/python_random.h"
#include "enwanda/text/text_corpus.h"

namespace enwanda {

const char* calibration_loader_name(const std::string& sampling) {
  return sampling == "documents" ? "get_c4" : "get_wikitext2";
}

std::vector<int64_t> draw_window_starts(int64_t ntokens, int64_t seqlen, int64_t count, int64_t seed) {
  if (ntokens <= seqlen)
    throw InputError("calibration text has " + std::to_string(ntokens) + " tokens; a window of --seqlen " +
                     std::to_string(seqlen) + " needs at least " + std::to_string(seqlen + 1));
  PythonRandom rng(seed);  // get_wikitext2: random.seed(seed); i = random.randint(0, n - seqlen - 1)
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < count; ++i) starts.push_back(rng.randint(0, ntokens - seqlen - 1));
  return starts;
}

namespace {
void check_vocab(const std::vector<int64_t>& ids, int64_t vocab_size) {
  for (int64_t id : ids)
    if (id >= vocab_size)
      throw InputError("tokenizer produced id " + std::to_string(id) + " >= the model's vocab_size " + std::to_string(vocab_size));
}

// locuslab/wanda lib/data.py get_c4: per sample, records drawn with randint (with replacement) until
// one has more than seqlen tokens (BOS included), then a window start randint(0, n - seqlen - 1).
// Records are parsed and tokenised only when drawn (a C4 shard holds 356k of them).
torch::Tensor sample_documents(const CalibrationOptions& opt, const Tokenizer& tok, int64_t vocab_size) {
  const DocumentIndex docs = [&] {
    try {
      return DocumentIndex(opt.text_paths, opt.text);
    } catch (const InputError& e) {  // plain text (WikiText, no C4 at hand): the windows loader reads it
      throw InputError(std::string(e.what()) + "; for plain text use --calib-sampling windows (get_wikitext2's loader)");
    }
  }();
  const int64_t ndocs = static_cast<int64_t>(docs.size());
  auto encode = [&](int64_t d) { return tok.encode(docs.text(static_cast<size_t>(d)), /*add_bos=*/true, opt.literals); };
  // The Python loops forever without a record longer than seqlen: refused before drawing (the
  // records in order until the first that is long enough).
  bool any_long = false;
  for (int64_t d = 0; d < ndocs && !any_long; ++d) any_long = static_cast<int64_t>(encode(d).size()) > opt.seqlen;
  if (!any_long)
    throw InputError(opt.text_paths[0] + ": none of its " + std::to_string(ndocs) + " documents has more than " +
                     std::to_string(opt.seqlen) + " tokens (--calib-sampling documents needs one)");
  tok.take_literal_count();
  const int64_t count = opt.nsamples * opt.calib_mult;
  PythonRandom rng(opt.seed);
  auto out = torch::empty({count, opt.seqlen}, torch::kInt64);
  auto* p = out.data_ptr<int64_t>();
  for (int64_t s = 0; s < count; ++s) {
    std::vector<int64_t> ids;
    do {
      check_interrupted();
      ids = encode(rng.randint(0, ndocs - 1));
    } while (static_cast<int64_t>(ids.size()) <= opt.seqlen);
    const int64_t start = rng.randint(0, static_cast<int64_t>(ids.size()) - opt.seqlen - 1);
    check_vocab(ids, vocab_size);
    std::memcpy(p + s * opt.seqlen, ids.data() + start, sizeof(int64_t) * opt.seqlen);
  }
  log_special_literals(tok);
  return out;
}
}  // namespace

torch::Tensor load_calibration(const CalibrationOptions& opt, const Tokenizer* tok, int64_t vocab_size) {
  if (!opt.tokens_path.empty()) return read_token_npy(opt.tokens_path, vocab_size);
  if (opt.nsamples <= 0 || opt.seqlen < 2 || opt.calib_mult <= 0)
    throw UsageError("--nsamples and --calib-mult must be positive and --seqlen at least 2");
  spdlog::info("calibration: {} loader, random.seed({}), {} x {} tokens{}", calibration_loader_name(opt.sampling), opt.seed,
               opt.nsamples * opt.calib_mult, opt.seqlen, opt.rows == RowsView::hf ? ", HF rows" : "");
  if (opt.sampling == "documents") return sample_documents(opt, *tok, vocab_size);
  if (opt.sampling != "windows") throw UsageError("--calib-sampling must be windows or documents, got " + opt.sampling);
  // get_wikitext2: tokenizer(" ".join(traindata["text"])) with --rows hf
  const std::string text = read_text(opt.text_paths, opt.rows, " ", opt.text);
  std::vector<int64_t> ids = tokenize_corpus(*tok, text, kCorpusChunkBytes, opt.literals);
  const int64_t count = opt.nsamples * opt.calib_mult;
  if (static_cast<int64_t>(ids.size()) <= opt.seqlen)
    throw InputError(opt.text_paths[0] + ": calibration text has " + std::to_string(ids.size()) +
                     " tokens; a window of --seqlen " + std::to_string(opt.seqlen) + " needs at least " +
                     std::to_string(opt.seqlen + 1));
  if (static_cast<int64_t>(ids.size()) < count * opt.seqlen)
    spdlog::warn("{}: calibration text has {} tokens, fewer than {} windows x {}: windows overlap", opt.text_paths[0],
                 ids.size(), count, opt.seqlen);
  check_vocab(ids, vocab_size);
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

namespace {
// Streaming SHA-256: 64-byte blocks compressed as they fill.
class Sha256 {
 public:
  void update(const uint8_t* p, size_t n) {
    length_ += n;
    while (n > 0) {
      const size_t take = std::min(n, size_t{64} - fill_);
      std::memcpy(block_ + fill_, p, take);
      fill_ += take, p += take, n -= take;
      if (fill_ == 64) compress(block_), fill_ = 0;
    }
  }
  std::string hex() {
    const uint64_t bits = length_ * 8;
    const uint8_t one = 0x80, zero = 0;
    update(&one, 1);
    while (fill_ != 56) update(&zero, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(bits >> (8 * (7 - i)));
    update(len, 8);
    char out[65];
    for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h_[i]);
    return std::string(out, 64);
  }

 private:
  void compress(const uint8_t* m) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t(m[4 * i]) << 24) | (uint32_t(m[4 * i + 1]) << 16) | (uint32_t(m[4 * i + 2]) << 8) | m[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], hh = h_[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += hh;
  }
  uint32_t h_[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t block_[64] = {};
  size_t fill_ = 0;
  uint64_t length_ = 0;
};
}  // namespace

std::string sha256_hex(const void* data, size_t n) {
  Sha256 h;
  h.update(static_cast<const uint8_t*>(data), n);
  return h.hex();
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read");
  Sha256 h;
  std::vector<char> buf(size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(reinterpret_cast<const uint8_t*>(buf.data()), static_cast<size_t>(in.gcount()));
  }
  return h.hex();
}

std::string tokens_sha256(const torch::Tensor& tokens) {
  auto t = tokens.to(torch::kInt64).contiguous();
  return sha256_hex(t.data_ptr(), t.numel() * sizeof(int64_t));
}

}  // namespace enwanda
