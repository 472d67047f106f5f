// libFuzzer harness: the model.safetensors.index.json parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "enwanda/errors.h"
#include "enwanda/io/shard_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto map = enwanda::parse_shard_index(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& [tensor, shard] : map)
      if (shard.empty() || shard.find('/') != std::string::npos) __builtin_trap();
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
