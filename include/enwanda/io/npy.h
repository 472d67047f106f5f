// NumPy .npy files of token ids: int32 or int64, C order, rank 2 [rows, seqlen].
#pragma once

#include <string>

#include <torch/torch.h>

namespace enwanda {

// Reads a rank-2 int32/int64 array as int64 [rows, cols]; ids must lie in [0, vocab_size)
// when vocab_size > 0. Throws InputError naming the file and what was wrong.
torch::Tensor read_token_npy(const std::string& path, int64_t vocab_size = 0);
void write_token_npy(const std::string& path, const torch::Tensor& tokens);  // int64 [rows, cols]

}  // namespace enwanda
