// libFuzzer harness: tokenizer.json (src/text/hf_tokenizer.cpp) parsed with the depth limit, loaded,
// and, when accepted, used to encode a short text with special-token literals in it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/text/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto j = enwanda::parse_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    const auto tok = enwanda::HfTokenizer::from_json(j, "fuzz");
    tok->encode("Hello <s> world</s>  12 345\n\xc3\xa9", /*with_special=*/true);
  } catch (const enwanda::InputError&) {
  }
  return 0;
}
