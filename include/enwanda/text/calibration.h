// The calibration set: nsamples × calib_mult windows of seqlen tokens drawn as the papers' loaders
// draw them (locuslab/wanda lib/data.py, get_wikitext2 and get_c4; IST-DASLab/sparsegpt
// datautils.py is the same), through Python's `random` seeded with --seed (python_random.h), or read
// as is from a .npy written by `enwanda calib`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/text/dataset_rows.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

struct CalibrationOptions {
  std::vector<std::string> text_paths;  // --calib
  std::string tokens_path;              // --calib-tokens (.npy); exclusive with text_paths
  int64_t nsamples = 128;
  int64_t seqlen = 2048;
  int64_t calib_mult = 1;
  int64_t seed = 0;  // random.seed(seed)
  // "windows" (get_wikitext2): the text's ids (BOS first), then per sample
  //   o = randint(0, n - seqlen - 1), the window ids[o : o + seqlen];
  // "documents" (get_c4): the JSON-lines records in order; per sample, repeat
  //   { i = randint(0, ndocs - 1); ids = encode(record i) with BOS } until len(ids) > seqlen,
  //   then o = randint(0, len(ids) - seqlen - 1), the window ids[o : o + seqlen].
  std::string sampling = "windows";
  // RowsView::hf: the windows loader's text is " ".join of the HF rows, as get_wikitext2 builds it
  RowsView rows = RowsView::file;
  SpecialLiterals literals = SpecialLiterals::as_ids;
  std::string protocol;  // --protocol wanda|sparsegpt, recorded in the report ("" when none)
  TextReadOptions text{"text", kDefaultTextMaxMiB << 20, "--calib-max-mib"};  // --calib-field, --calib-max-mib
};

// The papers' names for the loaders: "get_wikitext2" for windows, "get_c4" for documents.
const char* calibration_loader_name(const std::string& sampling);

// Window starts of get_wikitext2: `count` draws o = randint(0, ntokens - seqlen - 1) from Python's
// `random` seeded with `seed`. Throws InputError when ntokens <= seqlen.
std::vector<int64_t> draw_window_starts(int64_t ntokens, int64_t seqlen, int64_t count, int64_t seed);

// Returns int64 [nsamples*calib_mult, seqlen]. Throws InputError when the text is too short
// (saying how many tokens there are and how many are needed) or ids exceed vocab_size.
torch::Tensor load_calibration(const CalibrationOptions& opt, const Tokenizer* tok, int64_t vocab_size);

std::string sha256_hex(const void* data, size_t n);
std::string file_sha256(const std::string& path);  // streamed, 1 MiB at a time
std::string tokens_sha256(const torch::Tensor& tokens);  // over the int64 little-endian bytes

}  // namespace enwanda
