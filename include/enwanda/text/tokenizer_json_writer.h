// A small byte-level BPE tokenizer.json for synthetic checkpoints of the families that ship no
// tokenizer.model (LLaMA-3.x, SmolLM, Qwen): merges learnt on a text file (the most frequent
// adjacent pair first, ties to the smaller pair), the family's pre-tokenizer, special tokens and
// post-processor, as make_tokenizers.py writes them for the tokenizer test.
#pragma once

#include <cstdint>
#include <string>

namespace enwanda {

struct WrittenTokenizer {
  int64_t vocab_size = 0;
  int64_t bos_id = -1;  // the token the post-processor puts first (-1: none, as Qwen)
  int64_t eos_id = -1;
};

// family: "llama3" (<|begin_of_text|> first, ignore_merges), "qwen" (NFC, nothing added) or
// "smollm" (Digits + ByteLevel).
WrittenTokenizer write_byte_level_tokenizer_json(const std::string& corpus_path, const std::string& out_path,
                                                 const std::string& family, int merges);

}  // namespace enwanda
