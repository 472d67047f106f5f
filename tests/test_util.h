// Helpers shared by the gtest suites: temporary directories and a tiny synthetic checkpoint.
#pragma once

#include <string>

#include <torch/torch.h>

// Sanitizer builds cannot load sentencepiece (ASan refuses RTLD_DEEPBIND, and without it the
// bundled protobuf clashes with libtorch's): tests that need the tokenizer skip there.
#ifdef ENWANDA_SANITIZE
#define ENWANDA_SKIP_IF_NO_TOKENIZER() GTEST_SKIP() << "sentencepiece cannot load in a sanitizer build"
#else
#define ENWANDA_SKIP_IF_NO_TOKENIZER() (void)0
#endif

namespace enwanda::fixtures {

// A fresh directory under $TMPDIR, removed at process exit.
std::string temp_dir(const std::string& tag);
// A tiny GQA checkpoint (2 layers, hidden 64, 4 heads / 2 kv heads) made once per process, or a
// copy of $ENWANDA_TEST_TINY_MODEL when set (sanitizer runs, which cannot train a tokenizer).
const std::string& tiny_checkpoint();
// A .npy of random token ids [rows, cols] in the tiny checkpoint's vocabulary, made once per
// (rows, cols, seed) per process.
const std::string& tiny_calib_tokens(int64_t rows, int64_t cols, uint64_t seed);
// Prints the first values and the largest difference, like llm.c's check_tensor.
bool check_tensor(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol, const std::string& label);

}  // namespace enwanda::fixtures
