// Tokenizer: a sentencepiece tokenizer.model, encoding as HF's LlamaTokenizer does (BOS
// prepended unless told not to). Backed by libenwanda_spm.so, loaded in isolation (dlopen
// with RTLD_LOCAL | RTLD_DEEPBIND) because Debian's sentencepiece bundles a protobuf that
// clashes with libtorch's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace enwanda {

class Tokenizer {
 public:
  static std::shared_ptr<Tokenizer> load(const std::string& model_path);  // throws InputError
  ~Tokenizer();

  std::vector<int64_t> encode(const std::string& text, bool add_bos = true) const;
  int64_t vocab_size() const;
  int64_t bos_id() const;
  int64_t eos_id() const;
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
  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace enwanda
