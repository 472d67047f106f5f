#include "enwanda/text/tokenizer_fingerprint.h"

#include <filesystem>

#include "enwanda/errors.h"
#include "enwanda/io/npy.h"
#include "enwanda/text/calibration.h"

namespace fs = std::filesystem;

namespace enwanda {

std::string vocabulary_sha256(const Tokenizer& tok) {
  std::string pieces;
  for (int64_t id = 0; id < tok.vocab_size(); ++id) {
    pieces += tok.piece(id);
    pieces += '\0';
  }
  return sha256_hex(pieces.data(), pieces.size());
}

std::string vocabulary_sha256_for_model(const std::string& model_dir) {
  if (!fs::exists(fs::path(model_dir) / "tokenizer.model") && !fs::exists(fs::path(model_dir) / "tokenizer.json")) return "";
  return vocabulary_sha256(*Tokenizer::load_for_model(model_dir));
}

void check_token_file(const std::string& flag, const std::string& path, const std::string& model_dir, int64_t nsamples,
                      int64_t seqlen) {
  const TokenFileHeader h = read_token_npy_header(path);
  if ((nsamples > 0 && nsamples != h.rows) || (seqlen > 0 && seqlen != h.cols))
    throw UsageError(flag + " " + path + " holds " + std::to_string(h.rows) + " sequences of " + std::to_string(h.cols) +
                     " tokens; --nsamples/--seqlen contradict it (drop them: the file's windows are used as they are)");
  if (h.vocabulary_sha256.empty()) return;  // not written by enwanda calib: nothing to compare
  const std::string ours = vocabulary_sha256_for_model(model_dir);
  if (!ours.empty() && ours != h.vocabulary_sha256)
    throw InputError(flag + " " + path + " was tokenised by another tokenizer (vocabulary sha256 " +
                     h.vocabulary_sha256.substr(0, 16) + "...) than " + model_dir + "'s (" + ours.substr(0, 16) +
                     "...); draw it again with enwanda calib --model " + model_dir);
}

}  // namespace enwanda
