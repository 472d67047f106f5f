// The calibration set: nsamples × calib_mult windows of seqlen tokens drawn at random from a
// tokenised corpus (anywhere in the joined text, or per document as Wanda samples C4), or read as
// is from a .npy written by `enwanda calib`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/text/tokenizer.h"

namespace enwanda {

struct CalibrationOptions {
  std::vector<std::string> text_paths;  // --calib
  std::string tokens_path;              // --calib-tokens (.npy); exclusive with text_paths
  int64_t nsamples = 128;
  int64_t seqlen = 2048;
  int64_t calib_mult = 1;
  uint64_t seed = 0;
  // "windows": the documents joined, each window anywhere in the whole (the default);
  // "documents": Wanda's C4 protocol (locuslab/wanda get_c4): per sample, documents drawn
  // uniformly with replacement until one has more than seqlen tokens (BOS included), then a
  // window start uniform in [0, n - seqlen - 1] of that document.
  std::string sampling = "windows";
};

// Window starts: for each of `count` samples, a start drawn uniformly from [0, ntokens - seqlen]
// with a 64-bit Mersenne Twister seeded with `seed` (reproducible across platforms).
std::vector<int64_t> draw_window_starts(int64_t ntokens, int64_t seqlen, int64_t count, uint64_t seed);

// Returns int64 [nsamples*calib_mult, seqlen]. Throws InputError when the text is too short
// (saying how many tokens there are and how many are needed) or ids exceed vocab_size.
torch::Tensor load_calibration(const CalibrationOptions& opt, const Tokenizer* tok, int64_t vocab_size);

std::string sha256_hex(const void* data, size_t n);
std::string file_sha256(const std::string& path);  // streamed, 1 MiB at a time
std::string tokens_sha256(const torch::Tensor& tokens);  // over the int64 little-endian bytes

}  // namespace enwanda
