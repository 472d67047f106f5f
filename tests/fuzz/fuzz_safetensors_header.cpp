// libFuzzer harness: the safetensors header parser on arbitrary file bytes.
#include <cstddef>
#include <cstdint>

#include "enwanda/errors.h"
#include "enwanda/io/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto h = enwanda::parse_safetensors_header(data, size, size, "fuzz");
    // invariants of an accepted header
    uint64_t end = 0;
    for (const auto& t : h.tensors) {
      if (t.begin != end || t.end < t.begin) __builtin_trap();
      end = t.end;
    }
    if (h.data_start + end != size) __builtin_trap();
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
