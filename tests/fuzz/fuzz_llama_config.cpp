// libFuzzer harness: config.json parsing and validation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "enwanda/errors.h"
#include "enwanda/model/llama_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    auto c = enwanda::LlamaConfig::from_json(j, "fuzz");
    // invariants of an accepted config
    if (c.head_dim <= 0 || c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads != 0) __builtin_trap();
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
