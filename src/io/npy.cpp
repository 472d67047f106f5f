#include "enwanda/io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>

#include "enwanda/errors.h"

namespace enwanda {

torch::Tensor read_token_npy(const std::string& path, int64_t vocab_size) {
  std::ifstream in(path, std::ios::binary);
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
  if (!in || hlen > 1 << 20) throw InputError(path + ": truncated .npy header");
  std::string header(hlen, '\0');
  if (!in.read(header.data(), hlen)) throw InputError(path + ": truncated .npy header");
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")))
    throw InputError(path + ": .npy header lacks descr");
  std::string descr = m[1];
  int elem = 0;
  if (descr == "<i8") elem = 8;
  else if (descr == "<i4") elem = 4;
  else throw InputError(path + ": token ids must be int32 or int64 (little-endian), got dtype '" + descr + "'");
  if (std::regex_search(header, m, std::regex("'fortran_order':\\s*True")))
    throw InputError(path + ": Fortran-ordered arrays are not supported; save with C order");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) throw InputError(path + ": .npy header lacks shape");
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    shape.push_back(std::stoll(it->str()));
  if (shape.size() != 2)
    throw InputError(path + ": token array must have rank 2 [nsamples, seqlen], got rank " + std::to_string(shape.size()));
  if (shape[0] == 0 || shape[1] < 2) throw InputError(path + ": token array is empty or shorter than 2 tokens per row");
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

void write_token_npy(const std::string& path, const torch::Tensor& tokens) {
  auto t = tokens.to(torch::kInt64).contiguous();
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (" + std::to_string(t.size(0)) + ", " +
                       std::to_string(t.size(1)) + "), }  # enwanda";  // the comment: enwanda's mark (replace_guard.h)
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  // written beside the target and renamed over it: a failed write never leaves a partial .npy
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw IoError("cannot create " + tmp);
    out.write("\x93NUMPY\x01\x00", 8);
    uint16_t hl = static_cast<uint16_t>(header.size());
    char b[2] = {static_cast<char>(hl & 0xff), static_cast<char>(hl >> 8)};
    out.write(b, 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * 8));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw IoError("writing " + path + " failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_message("cannot rename " + tmp + " to " + path);
    std::remove(tmp.c_str());
    throw IoError(why);
  }
}

}  // namespace enwanda
