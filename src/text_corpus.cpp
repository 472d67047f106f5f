#include "enwanda/text_corpus.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "enwanda/errors.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string read_one(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw InputError(p.string() + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string content = ss.str();
  if (!ends_with(p.string(), ".jsonl")) return content;
  std::string joined, line;
  std::istringstream lines(content);
  int64_t lineno = 0;
  while (std::getline(lines, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw InputError(p.string() + ":" + std::to_string(lineno) + ": not valid JSON");
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw InputError(p.string() + ":" + std::to_string(lineno) + ": expected an object with a \"text\" string");
    if (!joined.empty()) joined += "\n\n";
    joined += j["text"].get<std::string>();
  }
  return joined;
}
}  // namespace

std::string read_text_corpus(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    if (!fs::exists(p)) throw InputError(p + ": calibration/evaluation text does not exist");
    if (fs::is_directory(p)) {
      std::vector<fs::path> inside;
      for (const auto& e : fs::directory_iterator(p)) {
        std::string n = e.path().filename().string();
        if (e.is_regular_file() && (ends_with(n, ".raw") || ends_with(n, ".tokens") || ends_with(n, ".txt") || ends_with(n, ".jsonl")))
          inside.push_back(e.path());
      }
      std::sort(inside.begin(), inside.end());
      if (inside.empty()) throw InputError(p + ": directory holds no .raw, .tokens, .txt or .jsonl files");
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(p);
    }
  }
  std::string text;
  for (const auto& f : files) {
    std::string part = read_one(f);
    if (!text.empty()) text += "\n\n";
    text += part;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw InputError((paths.empty() ? std::string("(no path)") : paths[0]) + ": text is empty");
  return text;
}

namespace {
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// How a chunk after a cut "x| y" must be encoded so that the pieces equal those of the whole text:
// without its leading space where the model adds a dummy prefix (LLaMA: "y" encodes as "▁y"), with
// it where the model does not; found by probing "a b". nullopt: neither reproduces it.
std::optional<bool> chunk_drops_leading_space(const Tokenizer& tok) {
  const auto whole = tok.encode("a b", false);
  auto joined = [&](const std::string& right) {
    auto ids = tok.encode("a", false), r = tok.encode(right, false);
    ids.insert(ids.end(), r.begin(), r.end());
    return ids;
  };
  if (joined("b") == whole) return true;
  if (joined(" b") == whole) return false;
  return std::nullopt;
}

// Where to end the chunk [pos, limit): just before a space between two word characters, where
// sentencepiece starts a new word, so no piece of the whole text's encoding spans the cut.
// Without such a space: at a line end, else at a UTF-8 character boundary (the encoding may then
// differ from the whole text's at this cut). Returns {end, exact}.
std::pair<size_t, bool> chunk_end(const std::string& text, size_t pos, size_t limit, bool word_cuts) {
  if (limit >= text.size()) return {text.size(), true};
  if (word_cuts)
    for (size_t cut = limit; cut > pos + 1; --cut)
      if (text[cut] == ' ' && is_word_char(text[cut - 1]) && cut + 1 < text.size() && is_word_char(text[cut + 1]))
        return {cut, true};
  size_t nl = text.rfind('\n', limit);
  if (nl != std::string::npos && nl > pos) return {nl + 1, false};
  size_t cut = limit;
  while (cut > pos + 1 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return {cut, false};
}
}  // namespace

std::vector<int64_t> tokenize_corpus(const Tokenizer& tok, const std::string& text, size_t chunk_bytes) {
  if (text.size() <= chunk_bytes) return tok.encode(text, /*add_bos=*/true);
  const auto drop_space = chunk_drops_leading_space(tok);
  std::vector<int64_t> ids{tok.bos_id()};
  int64_t inexact_cuts = 0;
  bool after_word_cut = false;
  for (size_t pos = 0; pos < text.size();) {
    auto [end, exact] = chunk_end(text, pos, pos + chunk_bytes, drop_space.has_value());
    if (end < text.size() && !exact) ++inexact_cuts;
    const size_t from = after_word_cut && *drop_space ? pos + 1 : pos;
    auto part = tok.encode(text.substr(from, end - from), /*add_bos=*/false);
    ids.insert(ids.end(), part.begin(), part.end());
    after_word_cut = exact;
    pos = end;
  }
  if (inexact_cuts > 0)
    spdlog::warn("tokenised {} bytes in chunks of {}; {} cuts found no space between words, and the tokens there "
                 "may differ from encoding the text whole", text.size(), chunk_bytes, inexact_cuts);
  return ids;
}

}  // namespace enwanda
