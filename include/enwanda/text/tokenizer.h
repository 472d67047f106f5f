// Tokenizer: a sentencepiece tokenizer.model, encoding as HF's LlamaTokenizer does (BOS
// prepended unless told not to), or a HuggingFace tokenizer.json (hf_tokenizer.h), whose
// post-processor decides what "with BOS" adds. Sentencepiece is backed by libenwanda_spm.so,
// loaded in isolation (dlopen with RTLD_LOCAL | RTLD_DEEPBIND) because Debian's sentencepiece
// bundles a protobuf that clashes with libtorch's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "enwanda/text/hf_tokenizer.h"

namespace enwanda {

// How the literals of special tokens written in the text ("<s>", "</s>", "<unk>"; a tokenizer.json's
// added tokens) are encoded: as their ids (transformers' default), or as plain text
// (--split-special-tokens).
enum class SpecialLiterals { as_ids, as_text };

// How transformers' slow LlamaTokenizer prefixes a tokenizer.model's text, from the model's
// tokenizer_config.json (both true when absent, as in transformers). legacy=false: sentencepiece
// without its dummy prefix, "▁" put before the text instead, and each piece after a special-token
// literal encoded without a prefix of its own.
struct SentencepieceSettings {
  bool legacy = true;
  bool add_prefix_space = true;
  // Reads `legacy` and `add_prefix_space` from a tokenizer_config.json; a missing file gives the
  // defaults, a value that is neither a boolean nor null is an InputError naming the file.
  static SentencepieceSettings read(const std::string& tokenizer_config_path);
  static SentencepieceSettings parse(const std::string& text, const std::string& path);  // the file's text
};

class Tokenizer {
 public:
  // A tokenizer.model, or a file named *.json read as a HuggingFace tokenizer.json.
  static std::shared_ptr<Tokenizer> load(const std::string& path,
                                         const SentencepieceSettings& settings = {});  // throws InputError
  // The model directory's tokenizer.model (with its tokenizer_config.json's settings), else its
  // tokenizer.json.
  static std::shared_ptr<Tokenizer> load_for_model(const std::string& model_dir);
  ~Tokenizer();

  // add_bos: sentencepiece's BOS, or the tokenizer.json post-processor's tokens around the text.
  // Special-token literals (SpecialLiterals::as_ids): the text is split at them first and each
  // piece between them encoded on its own, as transformers' slow LlamaTokenizer and HF tokenizers do.
  std::vector<int64_t> encode(const std::string& text, bool add_bos = true,
                              SpecialLiterals literals = SpecialLiterals::as_ids) const;
  // How many special-token literals encode() has turned into ids since the last call (then 0).
  int64_t take_literal_count() const;
  int64_t vocab_size() const;
  int64_t bos_id() const;  // -1 when the tokenizer adds none
  int64_t eos_id() const;  // tokenizer.json: <|endoftext|>, <|end_of_text|> or </s>, else -1
  // what encode(text, true) puts before and after the text's own tokens
  std::vector<int64_t> prefix_ids() const;
  std::vector<int64_t> suffix_ids() const;
  std::string piece(int64_t id) const;

  // Trains a sentencepiece model from a text file (used by `enwanda synth`), normalised as
  // LLaMA's: identity, spaces kept, a dummy "▁" before the text unless add_dummy_prefix is false,
  // pieces that never span a space between words unless split_by_whitespace is false.
  static void train(const std::string& input_txt, const std::string& model_prefix, int vocab_size,
                    bool add_dummy_prefix = true, bool split_by_whitespace = true);

  // Where the module is looked for: $ENWANDA_SPM_MODULE, beside the executable, ../lib/enwanda/,
  // then the build tree.
  static std::string module_path();

 private:
  Tokenizer() = default;
  // A piece of text between special-token literals, sentencepiece-encoded onto `out`.
  void append_segment(const char* text, size_t len, std::vector<int64_t>& out) const;
  void* handle_ = nullptr;                // sentencepiece
  struct Literal {
    std::string text;
    int64_t id;
  };
  std::vector<Literal> literals_;         // sentencepiece: the pieces of unk, bos and eos
  mutable std::atomic<int64_t> literals_matched_{0};
  SentencepieceSettings settings_;
  size_t unk_length_ = 0;                 // legacy=false: how many ids the unk literal encodes to
  std::unique_ptr<HfTokenizer> hf_;       // tokenizer.json
  std::string path_;
};

}  // namespace enwanda
