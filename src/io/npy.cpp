#include "enwanda/io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "enwanda/errors.h"
#include "enwanda/io/npy_header.h"
#include "enwanda/io/output_file.h"

namespace enwanda {

namespace {
// The header of a token .npy, leaving `in` at the first data byte; `elem` is 4 or 8.
TokenFileHeader read_header(std::ifstream& in, const std::string& path, int* elem) {
  if (!in) throw InputError(path + ": cannot read token file (missing?)");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw InputError(path + ": not a .npy file");
  uint32_t hlen = 0;
  if (magic[6] == 1) {
    uint8_t b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    hlen = b[0] | (b[1] << 8);
  } else {
    uint8_t b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  }
  if (!in) throw InputError(path + ": truncated .npy header");
  if (hlen > kMaxNpyHeaderBytes)
    throw InputError(path + ": .npy header of " + std::to_string(hlen) + " bytes is over the " +
                     std::to_string(kMaxNpyHeaderBytes) + "-byte limit (NumPy's max_header_size); not a token file");
  std::string header(hlen, '\0');
  if (!in.read(header.data(), hlen)) throw InputError(path + ": truncated .npy header");
  const TokenFileHeader h = parse_token_npy_header(header, path, elem);
  return h;
}
}  // namespace

TokenFileHeader read_token_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int elem = 0;
  return read_header(in, path, &elem);
}

torch::Tensor read_token_npy(const std::string& path, int64_t vocab_size) {
  std::ifstream in(path, std::ios::binary);
  int elem = 0;
  const TokenFileHeader h = read_header(in, path, &elem);
  const std::vector<int64_t> shape{h.rows, h.cols};
  // the data the shape says must be in the file, before any allocation (and without overflow)
  const auto data_start = in.tellg();
  in.seekg(0, std::ios::end);
  const auto file_end = in.tellg();
  in.seekg(data_start);
  int64_t want = 0;
  if (__builtin_mul_overflow(h.rows, h.cols, &want) || __builtin_mul_overflow(want, int64_t{elem}, &want) ||
      want > static_cast<int64_t>(file_end - data_start))
    throw InputError(path + ": data shorter than its shape [" + std::to_string(h.rows) + ", " + std::to_string(h.cols) +
                     "] says (truncated?)");
  auto raw = torch::empty({shape[0], shape[1]}, elem == 8 ? torch::kInt64 : torch::kInt32);
  size_t nbytes = raw.numel() * elem;
  if (!in.read(static_cast<char*>(raw.data_ptr()), static_cast<std::streamsize>(nbytes)))
    throw InputError(path + ": data shorter than its shape says (truncated?)");
  auto t = raw.to(torch::kInt64);
  if (vocab_size > 0) {
    int64_t lo = t.min().item<int64_t>(), hi = t.max().item<int64_t>();
    if (lo < 0 || hi >= vocab_size)
      throw InputError(path + ": token ids must lie in [0, " + std::to_string(vocab_size) + "), found " +
                       std::to_string(lo < 0 ? lo : hi));
  }
  return t;
}

void write_token_npy(const std::string& path, const torch::Tensor& tokens, bool overwrite,
                     const std::string& vocabulary_sha256) {
  auto t = tokens.to(torch::kInt64).contiguous();
  // the comment: enwanda's mark (replace_guard.h) and the tokenizer the ids belong to; NumPy reads
  // the header with ast.literal_eval, which skips comments (extra keys it would refuse)
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(t.size(0)) + ", " +
                       std::to_string(t.size(1)) + "), }  # enwanda";
  if (!vocabulary_sha256.empty()) header += " vocabulary sha256 " + vocabulary_sha256;
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  // through an exclusive temporary, renamed onto the target: a failed write never leaves a partial .npy
  OutputFile out(path, overwrite);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t hl = static_cast<uint16_t>(header.size());
  const char b[2] = {static_cast<char>(hl & 0xff), static_cast<char>(hl >> 8)};
  out.write(b, 2);
  out.write(header.data(), header.size());
  out.write(t.data_ptr(), static_cast<size_t>(t.numel()) * 8);
  out.commit();
}

}  // namespace enwanda
