#include "enwanda/text/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <queue>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/text/unicode_text.h"

namespace enwanda {

namespace {
using json = nlohmann::json;

// The GPT-2 pre-tokenization regex of HF's ByteLevel (use_regex).
const char* kGpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// A piece of text on its way through the pre-tokenizers; `at_start`: it begins the input.
struct Piece {
  std::string text;
  bool at_start;
};

// Isolated split: matches and the text between them are pieces, in order. Removed: only the
// text between matches.
std::vector<Piece> split(const Piece& p, const UnicodeRegex& re, bool keep_matches) {
  std::vector<Piece> out;
  size_t last = 0;
  for (const auto& [b, e] : re.matches(p.text)) {
    if (b > last) out.push_back({p.text.substr(last, b - last), p.at_start && last == 0});
    if (keep_matches) out.push_back({p.text.substr(b, e - b), p.at_start && b == 0});
    last = e;
  }
  if (last < p.text.size()) out.push_back({p.text.substr(last), p.at_start && last == 0});
  return out;
}

std::string string_field(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_string()) throw InputError(where + ": field \"" + key + "\" must be a string");
  return j[key].get<std::string>();
}
bool bool_field(const json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}
}  // namespace

// --- the tokenizer -----------------------------------------------------------------------------------
struct HfTokenizer::Impl {
  std::string path;
  // normalizer steps
  struct Normalize {
    enum Kind { nfc, prepend, replace } kind;
    std::string a, b;
  };
  std::vector<Normalize> normalizers;
  // pre-tokenizer steps
  struct PreTokenize {
    enum Kind { split, byte_level, digits, metaspace } kind;
    std::shared_ptr<UnicodeRegex> regex;  // split; byte_level with use_regex
    bool keep_matches = true;      // split: Isolated (true) or Removed
    bool add_prefix_space = false;  // byte_level
    bool individual_digits = false;
    std::string replacement;        // metaspace
    std::string prepend_scheme;     // metaspace: always | first | never
    bool split_words = false;       // metaspace split
  };
  std::vector<PreTokenize> pre_tokenizers;
  bool byte_level = false;  // some pre-tokenizer maps bytes to GPT-2's characters
  // BPE
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::string> id_to_token;
  std::map<std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>> merges;  // (a, b) -> (rank, merged id)
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  int64_t unk = -1;
  // added tokens, by first byte, longest first
  struct Added {
    std::string content;
    int64_t id;
    bool lstrip, rstrip, special;
  };
  std::vector<std::vector<Added>> added_by_first_byte = std::vector<std::vector<Added>>(256);
  std::vector<int64_t> prefix, suffix;
  int64_t vocab_size = 0;

  void parse(const json& j);
  std::vector<int64_t> bpe(const std::string& word) const;
  void encode_segment(const std::string& segment, bool at_start, std::vector<int64_t>& out) const;
};

void HfTokenizer::Impl::parse(const json& j) {
  const std::string& w = path;
  // model
  if (!j.contains("model") || !j["model"].is_object()) throw InputError(w + ": no \"model\" object");
  const json& m = j["model"];
  const std::string type = m.value("type", std::string("BPE"));
  if (type != "BPE") throw InputError(w + ": unsupported model \"" + type + "\" (BPE only)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(key) && !m[key].is_null() && m[key] != "")
      throw InputError(w + ": unsupported BPE option \"" + key + "\"");
  if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
    throw InputError(w + ": unsupported BPE option \"dropout\" (encoding would be random)");
  if (!m.contains("vocab") || !m["vocab"].is_object()) throw InputError(w + ": model.vocab must be an object");
  for (const auto& [token, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) throw InputError(w + ": vocab id of \"" + token + "\" is not a non-negative integer");
    vocab[token] = id.get<int64_t>();
  }
  byte_fallback = bool_field(m, "byte_fallback", false);
  fuse_unk = bool_field(m, "fuse_unk", false);
  ignore_merges = bool_field(m, "ignore_merges", false);
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    auto it = vocab.find(m["unk_token"].get<std::string>());
    if (it == vocab.end()) throw InputError(w + ": unk_token \"" + m["unk_token"].get<std::string>() + "\" is not in the vocabulary");
    unk = it->second;
  }
  const json merge_list = m.value("merges", json::array());
  int64_t rank = 0;
  for (const auto& item : merge_list) {
    std::string a, b;
    if (item.is_string()) {
      const std::string s = item.get<std::string>();
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) throw InputError(w + ": merge \"" + s + "\" is not two tokens separated by a space");
      a = s.substr(0, sp), b = s.substr(sp + 1);
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      a = item[0].get<std::string>(), b = item[1].get<std::string>();
    } else {
      throw InputError(w + ": merge " + item.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    auto ia = vocab.find(a), ib = vocab.find(b), iab = vocab.find(a + b);
    if (ia == vocab.end() || ib == vocab.end() || iab == vocab.end())
      throw InputError(w + ": merge \"" + a + " " + b + "\" names a token missing from the vocabulary");
    merges.emplace(std::make_pair(ia->second, ib->second), std::make_pair(rank++, iab->second));
  }
  // added tokens
  for (const auto& t : j.value("added_tokens", json::array())) {
    const std::string content = string_field(t, "content", w + ": added_tokens");
    if (!t.contains("id") || !t["id"].is_number_integer()) throw InputError(w + ": added token \"" + content + "\" has no id");
    if (bool_field(t, "single_word", false))
      throw InputError(w + ": added token \"" + content + "\" is single_word, which is not supported");
    const int64_t id = t["id"].get<int64_t>();
    vocab.emplace(content, id);
    if (!content.empty())
      added_by_first_byte[static_cast<unsigned char>(content[0])].push_back(
          {content, id, bool_field(t, "lstrip", false), bool_field(t, "rstrip", false), bool_field(t, "special", false)});
  }
  for (auto& list : added_by_first_byte)
    std::stable_sort(list.begin(), list.end(), [](const Added& x, const Added& y) { return x.content.size() > y.content.size(); });
  constexpr int64_t kMaxId = int64_t{1} << 24;  // 16.7 M: far above any real vocabulary (256 k)
  for (const auto& [token, id] : vocab) {
    if (id < 0 || id >= kMaxId)
      throw InputError(w + ": token \"" + token + "\" has id " + std::to_string(id) + ", outside [0, " +
                       std::to_string(kMaxId) + ")");
    vocab_size = std::max(vocab_size, id + 1);
  }
  id_to_token.assign(static_cast<size_t>(vocab_size), "");
  for (const auto& [token, id] : vocab) id_to_token[static_cast<size_t>(id)] = token;

  // normalizer
  std::function<void(const json&)> add_normalizer = [&](const json& n) {
    if (n.is_null()) return;
    const std::string t = n.value("type", std::string());
    if (t == "Sequence") {
      for (const auto& s : n.value("normalizers", json::array())) add_normalizer(s);
    } else if (t == "NFC") {
      normalizers.push_back({Normalize::nfc, "", ""});
    } else if (t == "Prepend") {
      normalizers.push_back({Normalize::prepend, string_field(n, "prepend", w + ": Prepend"), ""});
    } else if (t == "Replace") {
      const json& p = n.value("pattern", json::object());
      if (!p.contains("String")) throw InputError(w + ": unsupported normalizer \"Replace\" with a regex pattern");
      normalizers.push_back({Normalize::replace, p["String"].get<std::string>(), string_field(n, "content", w + ": Replace")});
    } else {
      throw InputError(w + ": unsupported normalizer \"" + t + "\"");
    }
  };
  add_normalizer(j.value("normalizer", json()));

  // pre-tokenizer
  std::function<void(const json&)> add_pre = [&](const json& p) {
    if (p.is_null()) return;
    const std::string t = p.value("type", std::string());
    PreTokenize step{};
    if (t == "Sequence") {
      for (const auto& s : p.value("pretokenizers", json::array())) add_pre(s);
      return;
    } else if (t == "Split") {
      const json& pat = p.value("pattern", json::object());
      const std::string behavior = p.value("behavior", std::string("Isolated"));
      if (behavior != "Isolated" && behavior != "Removed")
        throw InputError(w + ": unsupported Split behavior \"" + behavior + "\" (Isolated, Removed)");
      if (bool_field(p, "invert", false)) throw InputError(w + ": unsupported Split option \"invert\"");
      std::string regex;
      if (pat.contains("Regex")) regex = pat["Regex"].get<std::string>();
      else if (pat.contains("String")) {
        for (char c : pat["String"].get<std::string>()) regex += std::string(std::strchr("\\^$.|?*+()[]{}", c) && c ? "\\" : "") + c;
      } else throw InputError(w + ": Split has no pattern");
      step.kind = PreTokenize::split;
      step.regex = std::make_shared<UnicodeRegex>(regex, w + ": Split");
      step.keep_matches = behavior == "Isolated";
    } else if (t == "ByteLevel") {
      step.kind = PreTokenize::byte_level;
      step.add_prefix_space = bool_field(p, "add_prefix_space", true);
      if (bool_field(p, "use_regex", true)) step.regex = std::make_shared<UnicodeRegex>(kGpt2Pattern, w + ": ByteLevel");
      byte_level = true;
    } else if (t == "Digits") {
      step.kind = PreTokenize::digits;
      step.individual_digits = bool_field(p, "individual_digits", false);
      step.regex = std::make_shared<UnicodeRegex>(step.individual_digits ? "\\p{N}" : "\\p{N}+", w + ": Digits");
    } else if (t == "Metaspace") {
      step.kind = PreTokenize::metaspace;
      step.replacement = p.value("replacement", std::string("\xe2\x96\x81"));
      step.prepend_scheme = p.value("prepend_scheme", std::string(bool_field(p, "add_prefix_space", true) ? "always" : "never"));
      if (step.prepend_scheme != "always" && step.prepend_scheme != "first" && step.prepend_scheme != "never")
        throw InputError(w + ": unsupported Metaspace prepend_scheme \"" + step.prepend_scheme + "\"");
      step.split_words = bool_field(p, "split", true);
    } else {
      throw InputError(w + ": unsupported pre_tokenizer \"" + t + "\"");
    }
    pre_tokenizers.push_back(step);
  };
  add_pre(j.value("pre_tokenizer", json()));

  // post-processor: what encode(text, with_special) adds around the text
  std::function<void(const json&)> add_post = [&](const json& p) {
    if (p.is_null()) return;
    const std::string t = p.value("type", std::string());
    if (t == "Sequence") {
      for (const auto& s : p.value("processors", json::array())) add_post(s);
    } else if (t == "ByteLevel") {
      // offsets only
    } else if (t == "TemplateProcessing") {
      bool before = true;
      for (const auto& item : p.value("single", json::array())) {
        if (item.contains("Sequence")) {
          if (item["Sequence"].value("id", std::string("A")) != "A")
            throw InputError(w + ": TemplateProcessing's single template uses sequence B");
          before = false;
        } else if (item.contains("SpecialToken")) {
          const std::string name = string_field(item["SpecialToken"], "id", w + ": TemplateProcessing");
          const json& specials = p.value("special_tokens", json::object());
          if (!specials.contains(name)) throw InputError(w + ": TemplateProcessing names special token \"" + name + "\" it does not define");
          for (const auto& id : specials[name].value("ids", json::array())) (before ? prefix : suffix).push_back(id.get<int64_t>());
        } else {
          throw InputError(w + ": TemplateProcessing item " + item.dump() + " not understood");
        }
      }
    } else {
      throw InputError(w + ": unsupported post_processor \"" + t + "\"");
    }
  };
  add_post(j.value("post_processor", json()));
}

std::vector<int64_t> HfTokenizer::Impl::bpe(const std::string& word) const {
  if (ignore_merges) {
    auto it = vocab.find(word);
    if (it != vocab.end()) return {it->second};
  }
  // symbols: a doubly linked list over the word's characters (or bytes, with byte_fallback)
  struct Symbol {
    int64_t id;
    int prev, next;
    bool alive;
  };
  std::vector<Symbol> s;
  for (const auto& ch : utf8_chars(word)) {
    auto it = vocab.find(ch);
    if (it != vocab.end()) {
      s.push_back({it->second, 0, 0, true});
      continue;
    }
    if (byte_fallback) {
      std::vector<int64_t> bytes;
      for (unsigned char b : ch) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        auto bt = vocab.find(name);
        if (bt == vocab.end()) break;
        bytes.push_back(bt->second);
      }
      if (bytes.size() == ch.size()) {
        for (int64_t id : bytes) s.push_back({id, 0, 0, true});
        continue;
      }
    }
    if (unk < 0) continue;  // HF drops a character it cannot represent when there is no unk token
    if (fuse_unk && !s.empty() && s.back().id == unk) continue;
    s.push_back({unk, 0, 0, true});
  }
  const int n = static_cast<int>(s.size());
  for (int i = 0; i < n; ++i) s[static_cast<size_t>(i)].prev = i - 1, s[static_cast<size_t>(i)].next = i + 1 < n ? i + 1 : -1;
  // merges by rank, the leftmost first among equal ranks
  using Entry = std::tuple<int64_t, int, int64_t, int64_t>;  // rank, position, left id, right id
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int i) {
    if (i < 0) return;
    const int j = s[static_cast<size_t>(i)].next;
    if (j < 0) return;
    auto it = merges.find({s[static_cast<size_t>(i)].id, s[static_cast<size_t>(j)].id});
    if (it != merges.end()) heap.emplace(it->second.first, i, s[static_cast<size_t>(i)].id, s[static_cast<size_t>(j)].id);
  };
  for (int i = 0; i < n; ++i) push(i);
  while (!heap.empty()) {
    const auto [rank, i, left, right] = heap.top();
    heap.pop();
    Symbol& a = s[static_cast<size_t>(i)];
    if (!a.alive || a.id != left || a.next < 0) continue;
    Symbol& b = s[static_cast<size_t>(a.next)];
    if (b.id != right) continue;
    a.id = merges.at({left, right}).second;
    b.alive = false;
    a.next = b.next;
    if (b.next >= 0) s[static_cast<size_t>(b.next)].prev = i;
    push(a.prev);
    push(i);
  }
  std::vector<int64_t> ids;
  for (int i = n > 0 ? 0 : -1; i >= 0; i = s[static_cast<size_t>(i)].next) ids.push_back(s[static_cast<size_t>(i)].id);
  return ids;
}

void HfTokenizer::Impl::encode_segment(const std::string& segment, bool at_start, std::vector<int64_t>& out) const {
  std::string text = segment;
  for (const auto& n : normalizers) {
    if (n.kind == Normalize::nfc) text = nfc(text);
    else if (n.kind == Normalize::prepend) text = text.empty() ? text : n.a + text;
    else text = replace_all(text, n.a, n.b);
  }
  std::vector<Piece> pieces = {{text, at_start}};
  for (const auto& p : pre_tokenizers) {
    std::vector<Piece> next;
    for (auto& piece : pieces) {
      switch (p.kind) {
        case PreTokenize::split:
        case PreTokenize::digits: {
          auto parts = split(piece, *p.regex, p.keep_matches);
          next.insert(next.end(), parts.begin(), parts.end());
          break;
        }
        case PreTokenize::byte_level: {
          if (p.add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) piece.text = " " + piece.text;
          auto parts = p.regex ? split(piece, *p.regex, true) : std::vector<Piece>{piece};
          for (auto& part : parts) {
            std::string mapped;
            for (unsigned char b : part.text) mapped += byte_chars()[b];
            next.push_back({mapped, part.at_start});
          }
          break;
        }
        case PreTokenize::metaspace: {
          std::string t = replace_all(piece.text, " ", p.replacement);
          const bool prepend = p.prepend_scheme == "always" || (p.prepend_scheme == "first" && piece.at_start);
          if (prepend && t.compare(0, p.replacement.size(), p.replacement) != 0) t = p.replacement + t;
          if (!p.split_words) {
            next.push_back({t, piece.at_start});
            break;
          }
          // split before each replacement character (it opens the next word)
          size_t from = 0;
          for (size_t at = t.find(p.replacement, 1); at != std::string::npos; at = t.find(p.replacement, at + 1)) {
            next.push_back({t.substr(from, at - from), piece.at_start && from == 0});
            from = at;
          }
          if (from < t.size()) next.push_back({t.substr(from), piece.at_start && from == 0});
          break;
        }
      }
    }
    pieces = std::move(next);
  }
  for (const auto& piece : pieces) {
    if (piece.text.empty()) continue;
    auto ids = bpe(piece.text);
    out.insert(out.end(), ids.begin(), ids.end());
  }
}

HfTokenizer::HfTokenizer() : impl_(std::make_unique<Impl>()) {}
HfTokenizer::~HfTokenizer() = default;

std::unique_ptr<HfTokenizer> HfTokenizer::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read tokenizer.json");
  return from_json(parse_json(in, path), path);  // nesting limited (json_text.h)
}

std::unique_ptr<HfTokenizer> HfTokenizer::from_json(const nlohmann::json& j, const std::string& path) {
  auto t = std::unique_ptr<HfTokenizer>(new HfTokenizer());
  t->impl_->path = path;
  try {
    t->impl_->parse(j);
  } catch (const json::exception& e) {
    throw InputError(path + ": a field has the wrong type (" + std::string(e.what()).substr(std::string(e.what()).find(']') + 2) + ")");
  }
  return t;
}

std::vector<int64_t> HfTokenizer::encode(const std::string& text, bool with_special, bool match_special,
                                         int64_t* matched) const {
  const Impl& m = *impl_;
  std::vector<int64_t> out;
  if (with_special) out = m.prefix;
  // added tokens split out first (leftmost, longest), the text between them encoded
  size_t seg = 0, i = 0;
  while (i < text.size()) {
    const auto& candidates = m.added_by_first_byte[static_cast<unsigned char>(text[i])];
    const Impl::Added* hit = nullptr;
    for (const auto& a : candidates)
      if ((match_special || !a.special) && text.compare(i, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    size_t begin = i, end = i + hit->content.size();
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    if (hit->lstrip)
      while (begin > seg && space(text[begin - 1])) --begin;
    if (hit->rstrip)
      while (end < text.size() && space(text[end])) ++end;
    if (begin > seg) m.encode_segment(text.substr(seg, begin - seg), seg == 0, out);
    out.push_back(hit->id);
    if (matched && hit->special) ++*matched;
    seg = i = end;
  }
  if (seg < text.size()) m.encode_segment(text.substr(seg), seg == 0, out);
  if (with_special) out.insert(out.end(), m.suffix.begin(), m.suffix.end());
  return out;
}

int64_t HfTokenizer::vocab_size() const { return impl_->vocab_size; }
const std::vector<int64_t>& HfTokenizer::prefix_ids() const { return impl_->prefix; }
const std::vector<int64_t>& HfTokenizer::suffix_ids() const { return impl_->suffix; }
std::string HfTokenizer::token(int64_t id) const {
  return id >= 0 && id < impl_->vocab_size ? impl_->id_to_token[static_cast<size_t>(id)] : "";
}
int64_t HfTokenizer::token_id(const std::string& token) const {
  auto it = impl_->vocab.find(token);
  return it == impl_->vocab.end() ? -1 : it->second;
}

}  // namespace enwanda
