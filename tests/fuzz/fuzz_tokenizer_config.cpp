// libFuzzer harness: tokenizer_config.json's legacy and add_prefix_space (src/text/tokenizer.cpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "enwanda/errors.h"
#include "enwanda/text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    enwanda::SentencepieceSettings::parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
