// HfTokenizer: a HuggingFace tokenizer.json, encoding as the tokenizers library (Rust) does, for
// the two families real checkpoints ship:
//   1. byte-level BPE (LLaMA-3.x, Qwen2/2.5/3, SmolLM): normalizer none or NFC; pre-tokenizers
//      Split (the file's regex: PCRE2 in UTF + UCP mode, with \s and \S rewritten to Unicode's
//      White_Space as HF's Oniguruma reads them), ByteLevel (with or without its GPT-2 regex),
//      Digits, and Sequence of these; BPE merges by rank, ignore_merges;
//   2. Metaspace (or the Prepend/Replace normalizers) + BPE with byte_fallback (the tokenizer.json
//      of LLaMA-2 and Mistral).
// Added tokens are split out of the text before anything else; post-processors TemplateProcessing,
// ByteLevel and Sequence of them decide what encode(text, with_special=true) adds. Anything else in
// the file is refused by name (InputError), never approximated.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace enwanda {

class HfTokenizer {
 public:
  static std::unique_ptr<HfTokenizer> load(const std::string& path);  // throws InputError
  // The same from the parsed file; `path` names it in errors (tests/fuzz/fuzz_tokenizer_json.cpp).
  static std::unique_ptr<HfTokenizer> from_json(const nlohmann::json& j, const std::string& path);
  ~HfTokenizer();

  // with_special: the post-processor's tokens around the text (LLaMA-3: <|begin_of_text|>; Qwen: none)
  // match_special: special added tokens written in the text are matched (HF's default); false
  // encodes them as plain text (encode_special_tokens). *matched counts the special ones matched.
  std::vector<int64_t> encode(const std::string& text, bool with_special, bool match_special = true,
                              int64_t* matched = nullptr) const;
  int64_t vocab_size() const;  // one past the largest id, added tokens included
  const std::vector<int64_t>& prefix_ids() const;  // what the post-processor puts before the text
  const std::vector<int64_t>& suffix_ids() const;  // and after it
  std::string token(int64_t id) const;             // the vocabulary's string for id ("" if none)
  int64_t token_id(const std::string& token) const;  // -1 if absent

 private:
  HfTokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace enwanda
