// Reading text for calibration and evaluation: WikiText .raw/.tokens, plain .txt, .jsonl with
// a "text" field, or a directory of such files (sorted by name). Files are joined with "\n\n".
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/tokenizer.h"

namespace enwanda {

std::string read_text_corpus(const std::vector<std::string>& paths);  // throws InputError

// Tokenises the whole text once with BOS at the start. Text over 16 MB is encoded in chunks cut
// at line ends (documented in README) to bound the tokenizer's memory.
std::vector<int64_t> tokenize_corpus(const Tokenizer& tok, const std::string& text);

}  // namespace enwanda
