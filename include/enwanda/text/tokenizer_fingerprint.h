// Which vocabulary a file of token ids was made with. `enwanda calib` writes the sha256 of the
// model's vocabulary (every id's piece, in id order) into the .npy header; a run with
// --calib-tokens or --data-tokens compares it with its model's, so ids of one tokenizer are never
// fed to a model of another. The pieces, not the tokenizer file's bytes: sentencepiece's training
// writes files that differ from run to run for one and the same vocabulary.
#pragma once

#include <cstdint>
#include <string>

#include "enwanda/text/tokenizer.h"

namespace enwanda {

std::string vocabulary_sha256(const Tokenizer& tok);
// The same for the tokenizer of `model_dir`; "" when it has none.
std::string vocabulary_sha256_for_model(const std::string& model_dir);

// Throws InputError when the token file `path` (given as `flag`) names a vocabulary other than
// `model_dir`'s, UsageError when `nsamples`/`seqlen` (0: not given) differ from its shape.
void check_token_file(const std::string& flag, const std::string& path, const std::string& model_dir, int64_t nsamples,
                      int64_t seqlen);

}  // namespace enwanda
