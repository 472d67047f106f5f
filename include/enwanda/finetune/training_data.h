// The training windows of enwanda finetune and which of them each step reads.
//   Text (--data): the files' rows as HF datasets loads them (read_text_rows: a JSON-lines file's
// records, a text file's lines), each tokenised on its own as the tokenizer does by default (BOS
// first), then transformers' run_clm.py group_texts: all ids concatenated and cut into blocks of
// seqlen, the remainder dropped. Or token windows read as they are (--windows, calib --out).
//   Order: step k reads positions p = k·batch + j (j < batch) of the endless sequence of epochs;
// epoch e = p div N holds the windows in file order, or with --shuffle SEED permuted by
// torch.randperm(N, generator=torch.Generator().manual_seed(SEED + e)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

// group_texts over the rows' ids: int64 [floor(total / seqlen), seqlen]. Throws InputError (naming
// `what`) when the text holds fewer than seqlen tokens.
torch::Tensor group_texts(const std::vector<std::vector<int64_t>>& rows, int64_t seqlen, const std::string& what);

// The rows of `paths`, each encoded with BOS, grouped into windows of seqlen.
torch::Tensor text_windows(const std::vector<std::string>& paths, const TextReadOptions& o, const Tokenizer& tok,
                           int64_t seqlen);

// The window indices step k reads.
std::vector<int64_t> step_rows(int64_t k, int64_t batch, int64_t n, std::optional<int64_t> shuffle_seed = std::nullopt);

}  // namespace enwanda
