#include "enwanda/finetune/training_data.h"

#include <ATen/CPUGeneratorImpl.h>

#include "enwanda/errors.h"

namespace enwanda {

torch::Tensor group_texts(const std::vector<std::vector<int64_t>>& rows, int64_t seqlen, const std::string& what) {
  // transformers examples/pytorch/language-modeling/run_clm.py, group_texts: concatenate, then
  // total_length = (total_length // block_size) * block_size and cut into blocks
  int64_t total = 0;
  for (const auto& r : rows) total += static_cast<int64_t>(r.size());
  const int64_t blocks = total / seqlen;
  if (blocks < 1)
    throw InputError(what + ": " + std::to_string(total) + " tokens, fewer than one window of --seqlen " +
                     std::to_string(seqlen));
  auto out = torch::empty({blocks, seqlen}, torch::kInt64);
  int64_t* dst = out.data_ptr<int64_t>();
  int64_t at = 0;
  for (const auto& r : rows)
    for (int64_t id : r) {
      if (at == blocks * seqlen) return out;
      dst[at++] = id;
    }
  return out;
}

torch::Tensor text_windows(const std::vector<std::string>& paths, const TextReadOptions& o, const Tokenizer& tok,
                           int64_t seqlen) {
  std::vector<std::vector<int64_t>> ids;
  for (const auto& row : read_text_rows(paths, o)) ids.push_back(tok.encode(row, /*add_bos=*/true));
  return group_texts(ids, seqlen, "--data " + paths.front() + (paths.size() > 1 ? " ..." : ""));
}

std::vector<int64_t> step_rows(int64_t k, int64_t batch, int64_t n, std::optional<int64_t> shuffle_seed) {
  std::vector<int64_t> rows;
  int64_t epoch = -1;
  torch::Tensor perm;
  for (int64_t j = 0; j < batch; ++j) {
    const int64_t p = k * batch + j;
    if (!shuffle_seed) {
      rows.push_back(p % n);
      continue;
    }
    if (p / n != epoch) {
      epoch = p / n;
      auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(*shuffle_seed + epoch));
      perm = torch::randperm(n, gen, torch::kInt64);
    }
    rows.push_back(perm[p % n].item<int64_t>());
  }
  return rows;
}

}  // namespace enwanda
