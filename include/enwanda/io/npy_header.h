// The header of a token .npy: the Python dict literal NumPy writes after the magic and length
// ({'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }), read without libtorch and without
// a regex (tests/fuzz/fuzz_npy_header.cpp drives it).
#pragma once

#include <cstdint>
#include <string>

namespace enwanda {

// The longest header read, as NumPy's own default max_header_size (numpy/lib/format.py): a token
// file's header is under 200 bytes; a longer one is refused before it is read.
constexpr uint32_t kMaxNpyHeaderBytes = 10000;

// What a token file's header says: its shape and, for one `enwanda calib` wrote, its tokenizer.
struct TokenFileHeader {
  int64_t rows = 0, cols = 0;
  std::string vocabulary_sha256;  // empty when the file does not say
};

// The header text (after the length field) of a rank-2 int32/int64 C-order array; `elem` gets 4 or
// 8. Throws InputError naming `path` for anything else: unknown or repeated keys, another dtype,
// Fortran order, another rank, an empty array, a dimension beyond 2^63.
TokenFileHeader parse_token_npy_header(const std::string& header, const std::string& path, int* elem);

}  // namespace enwanda
