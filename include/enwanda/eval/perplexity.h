// Perplexity, the Wanda protocol: the text (files joined with "\n\n") tokenised once with BOS
// at the start, cut into non-overlapping windows of seqlen tokens (remainder dropped); each
// window predicts its tokens 2..seqlen from the earlier ones;
//   ppl = exp(total NLL / predicted tokens), NLL accumulated in fp64.
// --slices N keeps N fixed windows, at indices round(k·(W−1)/(N−1)), k = 0..N−1 (N=1: the first).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/text/dataset_rows.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

struct PerplexityOptions {
  std::string model_dir;
  std::vector<std::string> data;  // text files
  std::string data_tokens;        // or a .npy [n, seqlen]
  RowsView rows = RowsView::file;  // hf: "\n\n".join of the HF rows, as the papers' evaluation text
  SpecialLiterals literals = SpecialLiterals::as_ids;
  TextReadOptions text{"text", kDefaultTextMaxMiB << 20, "--data-max-mib"};  // --data-field, --data-max-mib
  // C4 validation as sparsegpt's datautils.py get_c4 builds it: " ".join of the first 1100 records,
  // the ids cut to 256 x seqlen
  bool c4_validation = false;
  std::string protocol;  // --protocol wanda|sparsegpt, recorded in the JSON
  int64_t seqlen = 2048;
  int64_t slices = 0;             // 0 = all windows
  std::string device = "auto";
  std::string dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
  std::string command_line;  // recorded as "reproduce" in the result
};

std::vector<int64_t> slice_indices(int64_t windows, int64_t slices);

// Returns {"ppl", "nll", "windows", "total_windows", "predicted_tokens", "window_indices", "settings", "reproduce"}:
// settings hold the absolute paths, each file's sha256, the BOS rule and every setting that changes the number.
nlohmann::json evaluate_perplexity(const PerplexityOptions& opt);

}  // namespace enwanda
