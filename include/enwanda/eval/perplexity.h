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

namespace enwanda {

struct PerplexityOptions {
  std::string model_dir;
  std::vector<std::string> data;  // text files
  std::string data_tokens;        // or a .npy [n, seqlen]
  int64_t seqlen = 2048;
  int64_t slices = 0;             // 0 = all windows
  std::string device = "auto";
  std::string dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
};

std::vector<int64_t> slice_indices(int64_t windows, int64_t slices);

// Returns {"ppl", "nll", "windows", "total_windows", "predicted_tokens", "window_indices", "settings"...}.
nlohmann::json evaluate_perplexity(const PerplexityOptions& opt);

}  // namespace enwanda
