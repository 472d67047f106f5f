// The safetensors header: dtypes, tensor entries, and the validating parser. Free of libtorch
// so it can be fuzzed on its own (tests/fuzz).
//
// File layout: u64 little-endian header length n, n bytes of UTF-8 JSON
// {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data buffer; offsets are relative to the buffer's start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace enwanda {

enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

size_t dtype_size(Dtype d);
std::string dtype_name(Dtype d);
bool parse_dtype(const std::string& name, Dtype* out);

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // offsets within the data buffer
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
};

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// The parsed, validated header. Separate from the file so the parser can be fuzzed alone.
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;          // 8 + header length
};

// Validates `file_bytes` bytes whose first min(file_bytes, prefix_len) are in `prefix`.
// `where` names the file in error messages. Throws InputError.
SafetensorsHeader parse_safetensors_header(const uint8_t* prefix, size_t prefix_len, uint64_t file_bytes,
                                           const std::string& where);

}  // namespace enwanda
