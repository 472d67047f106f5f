// libenwanda_spm.so: the only code that links sentencepiece. Debian's libsentencepiece carries
// its own protobuf-lite 3.14, which clashes with the protobuf 3.21 libtorch loads; enwanda
// loads this module with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) and talks to it through the
// plain C functions below, so no C++ or protobuf symbol crosses the boundary.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

namespace {
void set_error(char* err, size_t errlen, const std::string& msg) {
  if (!err || errlen == 0) return;
  std::strncpy(err, msg.c_str(), errlen - 1);
  err[errlen - 1] = '\0';
}
}  // namespace

extern "C" {

void* enw_spm_load(const char* path, char* err, size_t errlen) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  auto status = sp->Load(path);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

// As enw_spm_load, with the normaliser's add_dummy_prefix switched off, as transformers'
// LlamaTokenizer.get_spm_processor does for legacy=False (tokenization_llama.py: ModelProto with
// normalizer_spec.MergeFrom(NormalizerSpec(add_dummy_prefix=False))). The same merge on the wire:
// a second ModelProto.normalizer_spec (field 3) holding only add_dummy_prefix (field 3) = false is
// merged into the first by the parser.
void* enw_spm_load_without_dummy_prefix(const char* path, char* err, size_t errlen) {
  sentencepiece::SentencePieceProcessor plain;
  auto status = plain.Load(path);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return nullptr;
  }
  std::string proto(plain.serialized_model_proto());
  proto += std::string("\x1a\x02\x18\x00", 4);
  auto* sp = new sentencepiece::SentencePieceProcessor();
  status = sp->LoadFromSerializedProto(proto);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void enw_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

// Encodes `len` bytes of `text`; *out is malloc'ed (free with enw_spm_free_ids). Returns 0 on success.
int enw_spm_encode(void* handle, const char* text, size_t len, int** out, size_t* n, char* err, size_t errlen) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  std::vector<int> ids;
  auto status = sp->Encode(std::string(text, len), &ids);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return 1;
  }
  *n = ids.size();
  *out = static_cast<int*>(std::malloc(sizeof(int) * (ids.empty() ? 1 : ids.size())));
  if (!*out) return 2;
  std::memcpy(*out, ids.data(), sizeof(int) * ids.size());
  return 0;
}

void enw_spm_free_ids(int* ids) { std::free(ids); }

int enw_spm_vocab_size(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->GetPieceSize(); }
int enw_spm_bos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->bos_id(); }
int enw_spm_eos_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->eos_id(); }
int enw_spm_unk_id(void* handle) { return static_cast<sentencepiece::SentencePieceProcessor*>(handle)->unk_id(); }

// Writes piece `id` into buf (NUL-terminated, truncated to buflen). Returns its full length.
size_t enw_spm_id_to_piece(void* handle, int id, char* buf, size_t buflen) {
  std::string p = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->IdToPiece(id);
  set_error(buf, buflen, p);
  return p.size();
}

// Trains a model; `args` is a sentencepiece trainer flag string ("--input=... --model_prefix=...").
int enw_spm_train(const char* args, char* err, size_t errlen) {
  auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) {
    set_error(err, errlen, status.ToString());
    return 1;
  }
  return 0;
}

}  // extern "C"
