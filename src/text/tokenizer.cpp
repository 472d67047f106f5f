#include "enwanda/text/tokenizer.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
struct SpmApi {
  void* (*load)(const char*, char*, size_t);
  void* (*load_without_dummy_prefix)(const char*, char*, size_t);
  void (*free_model)(void*);
  int (*encode)(void*, const char*, size_t, int**, size_t*, char*, size_t);
  void (*free_ids)(int*);
  int (*vocab_size)(void*);
  int (*bos_id)(void*);
  int (*eos_id)(void*);
  int (*unk_id)(void*);
  size_t (*id_to_piece)(void*, int, char*, size_t);
  int (*train)(const char*, char*, size_t);
};

template <typename F>
void bind(void* lib, const char* name, F* fn) {
  void* sym = dlsym(lib, name);
  if (!sym) throw IoError(std::string("tokenizer module lacks symbol ") + name);
  *fn = reinterpret_cast<F>(sym);
}

// Whether a protobuf other than the module's own is in the process: a loaded libprotobuf (Debian's
// libtorch links libprotobuf.so.32), or protobuf symbols that the executable's libraries export.
bool other_protobuf_loaded() {
  if (dlsym(RTLD_DEFAULT, "_ZN6google8protobuf11MessageLiteD2Ev") ||
      dlsym(RTLD_DEFAULT, "_ZN6google8protobuf8internal13VerifyVersionEiiPKc"))
    return true;
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name && std::string(info->dlpi_name).find("libprotobuf") != std::string::npos)
          *static_cast<bool*>(data) = true;
        return 0;
      },
      &found);
  return found;
}

const SpmApi& api() {
  static SpmApi a;
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    std::string path = Tokenizer::module_path();
#ifdef ENWANDA_SANITIZE
    // The sanitizer runtimes refuse RTLD_DEEPBIND (google/sanitizers#611). Sanitizer builds load
    // the module without it; they are for finding memory errors in our code, not for shipping.
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
#else
    // With another protobuf loaded, the module must bind to its own (RTLD_DEEPBIND), or protobuf's
    // start-up crashes. Without one, DEEPBIND is not needed and does harm: where the executable
    // holds copy-relocated std::cerr (the PyTorch wheel's build), the module would write to
    // libstdc++'s unconstructed original and crash.
    int deepbind = other_protobuf_loaded() ? RTLD_DEEPBIND : 0;
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | deepbind);
#endif
    if (!lib) {
      failure = std::string("cannot load the tokenizer module ") + path + ": " + dlerror();
      return;
    }
    try {
      bind(lib, "enw_spm_load", &a.load);
      bind(lib, "enw_spm_load_without_dummy_prefix", &a.load_without_dummy_prefix);
      bind(lib, "enw_spm_free", &a.free_model);
      bind(lib, "enw_spm_encode", &a.encode);
      bind(lib, "enw_spm_free_ids", &a.free_ids);
      bind(lib, "enw_spm_vocab_size", &a.vocab_size);
      bind(lib, "enw_spm_bos_id", &a.bos_id);
      bind(lib, "enw_spm_eos_id", &a.eos_id);
      bind(lib, "enw_spm_unk_id", &a.unk_id);
      bind(lib, "enw_spm_id_to_piece", &a.id_to_piece);
      bind(lib, "enw_spm_train", &a.train);
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) throw IoError(failure);
  return a;
}
}  // namespace

std::string Tokenizer::module_path() {
  if (const char* env = std::getenv("ENWANDA_SPM_MODULE")) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path candidate : {exe.parent_path() / "libenwanda_spm.so",
                               exe.parent_path().parent_path() / "lib" / "enwanda" / "libenwanda_spm.so"})
      if (fs::exists(candidate)) return candidate.string();
  }
  return ENWANDA_SPM_MODULE_BUILD_PATH;
}

std::shared_ptr<Tokenizer> Tokenizer::load_for_model(const std::string& model_dir) {
  const fs::path spm = fs::path(model_dir) / "tokenizer.model", hf = fs::path(model_dir) / "tokenizer.json";
  if (fs::exists(spm) || fs::exists(hf)) {
    const fs::path file = fs::exists(spm) ? spm : hf;
    auto tok = file == spm ? load(spm.string(), SentencepieceSettings::read((fs::path(model_dir) / "tokenizer_config.json").string()))
                           : load(hf.string());
    // every id must name a row of the model's embedding: refused before any work, naming the token
    const fs::path config = fs::path(model_dir) / "config.json";
    std::ifstream config_in(config.string());
    const auto c = config_in ? parse_json(config_in, config.string()) : nlohmann::json();
    if (c.is_object() && c.contains("vocab_size") && c["vocab_size"].is_number_integer()) {
      const int64_t rows = c["vocab_size"].get<int64_t>();
      if (tok->vocab_size() > rows)
        throw InputError(file.string() + ": token \"" + tok->piece(tok->vocab_size() - 1) + "\" has id " +
                         std::to_string(tok->vocab_size() - 1) + ", beyond the model's vocab_size " + std::to_string(rows) +
                         " (config.json); the tokenizer is not this model's");
    }
    return tok;
  }
  throw InputError(model_dir + ": neither tokenizer.model nor tokenizer.json found (token windows from elsewhere: "
                   "--calib-tokens / --data-tokens)");
}

namespace {
void append_pieces(void* handle, const std::string& path, const char* text, size_t len, std::vector<int64_t>& out) {
  int* ids = nullptr;
  size_t n = 0;
  char err[512] = {0};
  if (api().encode(handle, text, len, &ids, &n, err, sizeof(err)) != 0) throw InputError(path + ": encoding failed: " + err);
  out.insert(out.end(), ids, ids + n);
  api().free_ids(ids);
}
}  // namespace

SentencepieceSettings SentencepieceSettings::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return SentencepieceSettings{};
  return parse(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), path);
}

SentencepieceSettings SentencepieceSettings::parse(const std::string& text, const std::string& path) {
  SentencepieceSettings s;
  const nlohmann::json j = parse_json(text, path);  // nesting limited (json_text.h)
  if (!j.is_object()) throw InputError(path + ": not a JSON object");
  for (auto [key, field] : {std::pair{"legacy", &s.legacy}, std::pair{"add_prefix_space", &s.add_prefix_space}}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_boolean()) throw InputError(path + ": \"" + key + "\" must be true, false or null, not " + std::string(it->type_name()));
    *field = it->get<bool>();
  }
  return s;
}

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string& model_path, const SentencepieceSettings& settings) {
  if (model_path.size() >= 5 && model_path.compare(model_path.size() - 5, 5, ".json") == 0) {
    auto t = std::shared_ptr<Tokenizer>(new Tokenizer());
    t->hf_ = HfTokenizer::load(model_path);
    t->path_ = model_path;
    return t;
  }
  if (!fs::exists(model_path)) throw InputError(model_path + ": tokenizer.model is missing");
  char err[512] = {0};
  // transformers' LlamaTokenizer.get_spm_processor: legacy=False drops the dummy prefix
  void* h = settings.legacy ? api().load(model_path.c_str(), err, sizeof(err))
                            : api().load_without_dummy_prefix(model_path.c_str(), err, sizeof(err));
  if (!h) throw InputError(model_path + ": not a valid sentencepiece model (" + err + ")");
  auto t = std::shared_ptr<Tokenizer>(new Tokenizer());
  t->handle_ = h;
  t->path_ = model_path;
  t->settings_ = settings;
  // transformers' LlamaTokenizer registers unk, bos and eos as added tokens: their literals in the
  // text are matched (tokenization_utils.py, PreTrainedTokenizer.tokenize: tokens_trie.split)
  for (int id : {api().unk_id(h), api().bos_id(h), api().eos_id(h)})
    if (id >= 0) t->literals_.push_back({t->piece(id), id});
  std::stable_sort(t->literals_.begin(), t->literals_.end(),
                   [](const Literal& a, const Literal& b) { return a.text.size() > b.text.size(); });
  if (!settings.legacy) {  // LlamaTokenizer.unk_token_length
    std::vector<int64_t> unk;
    const std::string unk_text = t->piece(api().unk_id(h));
    append_pieces(h, model_path, unk_text.data(), unk_text.size(), unk);
    t->unk_length_ = unk.size();
  }
  return t;
}

Tokenizer::~Tokenizer() {
  if (handle_) api().free_model(handle_);
}


void Tokenizer::append_segment(const char* text, size_t len, std::vector<int64_t>& out) const {
  // LlamaTokenizer._tokenize (tokenization_llama.py): legacy, or a piece that does not start with
  // "▁" or " ", is encoded as it is; otherwise legacy=false encodes unk_token + piece, without the
  // dummy prefix, and drops the unk token's ids, so the piece keeps exactly its own leading space.
  static const std::string kSpace = "\xe2\x96\x81";  // ▁
  const bool spaced = len > 0 && (text[0] == ' ' || (len >= 3 && std::string(text, 3) == kSpace));
  if (settings_.legacy || !spaced) {
    append_pieces(handle_, path_, text, len, out);
    return;
  }
  std::vector<int64_t> ids;
  const std::string prefixed = piece(api().unk_id(handle_)) + std::string(text, len);
  append_pieces(handle_, path_, prefixed.data(), prefixed.size(), ids);
  out.insert(out.end(), ids.begin() + static_cast<std::ptrdiff_t>(ids.size() >= unk_length_ ? unk_length_ : 0), ids.end());
}

std::vector<int64_t> Tokenizer::encode(const std::string& raw, bool add_bos, SpecialLiterals literals) const {
  if (hf_) {
    int64_t matched = 0;
    auto ids = hf_->encode(raw, add_bos, literals == SpecialLiterals::as_ids, &matched);
    literals_matched_ += matched;
    return ids;
  }
  std::vector<int64_t> out;
  if (add_bos) out.push_back(bos_id());
  const size_t start = out.size();
  // LlamaTokenizer.tokenize, legacy=false: "▁" in the text becomes " ", and "▁" goes before it
  // (add_prefix_space); empty text stays empty.
  std::string text = raw;
  if (!settings_.legacy && !raw.empty()) {
    for (size_t at = 0; (at = text.find("\xe2\x96\x81", at)) != std::string::npos;) text.replace(at, 3, " ");
    if (settings_.add_prefix_space) text.insert(0, "\xe2\x96\x81");
  }
  if (literals == SpecialLiterals::as_text || literals_.empty()) {
    append_segment(text.data(), text.size(), out);
    return out;
  }
  // transformers' PreTrainedTokenizer.tokenize (tokenization_utils.py): the text split at the
  // literals (leftmost, longest first), each literal its id, each non-empty piece between them
  // encoded on its own (append_segment)
  size_t seg = 0, matched = 0, first_literal_at = 0;
  for (size_t i = 0; i < text.size();) {
    const Literal* hit = nullptr;
    for (const auto& l : literals_)
      if (text[i] == l.text[0] && text.compare(i, l.text.size(), l.text) == 0) {
        hit = &l;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    if (i > seg) append_segment(text.data() + seg, i - seg, out);
    if (matched == 0) first_literal_at = out.size();
    out.push_back(hit->id);
    ++matched;
    seg = i = i + hit->text.size();
  }
  if (seg < text.size()) append_segment(text.data() + seg, text.size() - seg, out);
  literals_matched_ += static_cast<int64_t>(matched);
  // LlamaTokenizer.tokenize, legacy=false: a lone "▁" before a special token is dropped
  if (!settings_.legacy && matched > 0 && first_literal_at == start + 1 && piece(out[start]) == "\xe2\x96\x81")
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(start));
  return out;
}

int64_t Tokenizer::take_literal_count() const { return literals_matched_.exchange(0); }

int64_t Tokenizer::vocab_size() const { return hf_ ? hf_->vocab_size() : api().vocab_size(handle_); }
int64_t Tokenizer::bos_id() const {
  if (hf_) return hf_->prefix_ids().empty() ? -1 : hf_->prefix_ids().front();
  return api().bos_id(handle_);
}
int64_t Tokenizer::eos_id() const {
  if (!hf_) return api().eos_id(handle_);
  for (const char* eot : {"<|endoftext|>", "<|end_of_text|>", "</s>"})  // tokenizer.json does not name it
    if (hf_->token_id(eot) >= 0) return hf_->token_id(eot);
  return -1;
}
std::vector<int64_t> Tokenizer::prefix_ids() const { return hf_ ? hf_->prefix_ids() : std::vector<int64_t>{bos_id()}; }
std::vector<int64_t> Tokenizer::suffix_ids() const { return hf_ ? hf_->suffix_ids() : std::vector<int64_t>{}; }

std::string Tokenizer::piece(int64_t id) const {
  if (hf_) return hf_->token(id);
  char buf[256];
  api().id_to_piece(handle_, static_cast<int>(id), buf, sizeof(buf));
  return buf;
}

void Tokenizer::train(const std::string& input_txt, const std::string& model_prefix, int vocab_size,
                      bool add_dummy_prefix, bool split_by_whitespace) {
  std::string args = "--input=" + input_txt + " --model_prefix=" + model_prefix +
                     " --vocab_size=" + std::to_string(vocab_size) +
                     " --model_type=bpe --character_coverage=1.0 --byte_fallback=true"
                     " --split_digits=true --remove_extra_whitespaces=false"
                     " --add_dummy_prefix=" + std::string(add_dummy_prefix ? "true" : "false") +
                     " --split_by_whitespace=" + std::string(split_by_whitespace ? "true" : "false") +
                     " --normalization_rule_name=identity --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1"
                     " --hard_vocab_limit=false --minloglevel=2 --num_threads=1 --input_sentence_size=0"
                     " --shuffle_input_sentence=false --seed_sentencepiece_size=100000";
  char err[1024] = {0};
  // The trainer logs its whole command line to stderr whatever minloglevel says: mute it.
  std::fflush(stderr);
  int saved = ::dup(STDERR_FILENO);
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved >= 0 && devnull >= 0) ::dup2(devnull, STDERR_FILENO);
  int rc = api().train(args.c_str(), err, sizeof(err));
  std::fflush(stderr);
  if (saved >= 0) ::dup2(saved, STDERR_FILENO), ::close(saved);
  if (devnull >= 0) ::close(devnull);
  if (rc != 0) throw IoError("tokenizer training failed: " + std::string(err));
}

}  // namespace enwanda
