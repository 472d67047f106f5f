#include "enwanda/text_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

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

std::vector<int64_t> tokenize_corpus(const Tokenizer& tok, const std::string& text) {
  constexpr size_t kChunk = 16u << 20;
  if (text.size() <= kChunk) return tok.encode(text, /*add_bos=*/true);
  std::vector<int64_t> ids{tok.bos_id()};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = std::min(text.size(), pos + kChunk);
    if (end < text.size()) {
      size_t nl = text.rfind('\n', end);
      if (nl != std::string::npos && nl > pos) end = nl + 1;
    }
    auto part = tok.encode(text.substr(pos, end - pos), /*add_bos=*/false);
    ids.insert(ids.end(), part.begin(), part.end());
    pos = end;
  }
  return ids;
}

}  // namespace enwanda
