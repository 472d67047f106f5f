// NumPy .npy files of token ids: int32 or int64, C order, rank 2 [rows, seqlen].
#pragma once

#include <string>

#include <torch/torch.h>

#include "enwanda/io/npy_header.h"

namespace enwanda {

// Reads a rank-2 int32/int64 array as int64 [rows, cols]; ids must lie in [0, vocab_size)
// when vocab_size > 0. Throws InputError naming the file and what was wrong.
torch::Tensor read_token_npy(const std::string& path, int64_t vocab_size = 0);
// int64 [rows, cols]; with `overwrite`, replaces an existing file only if enwanda wrote it (output_file.h).
// `vocabulary_sha256` (of the vocabulary the ids come from, tokenizer_fingerprint.h) goes into the header's comment.
void write_token_npy(const std::string& path, const torch::Tensor& tokens, bool overwrite = false,
                     const std::string& vocabulary_sha256 = "");

TokenFileHeader read_token_npy_header(const std::string& path);  // throws InputError

}  // namespace enwanda
