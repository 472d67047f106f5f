// libFuzzer harness: the header dict of a token .npy (src/io/npy_header.cpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "enwanda/errors.h"
#include "enwanda/io/npy_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > enwanda::kMaxNpyHeaderBytes) return 0;  // refused by length before parsing (npy.cpp)
  try {
    int elem = 0;
    const auto h = enwanda::parse_token_npy_header(std::string(reinterpret_cast<const char*>(data), size), "fuzz", &elem);
    // invariants of an accepted header
    if ((elem != 4 && elem != 8) || h.rows <= 0 || h.cols < 2) __builtin_trap();
    if (!h.vocabulary_sha256.empty() && h.vocabulary_sha256.size() != 64) __builtin_trap();
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
