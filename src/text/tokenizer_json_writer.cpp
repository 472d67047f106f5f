#include "enwanda/text/tokenizer_json_writer.h"

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/output_directory.h"

namespace enwanda {

namespace {
using json = nlohmann::ordered_json;

std::string byte_char(unsigned b) {  // GPT-2's byte-to-character table
  uint32_t cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
    uint32_t n = 0;
    for (unsigned x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else s += static_cast<char>(0xc0 | (cp >> 6)), s += static_cast<char>(0x80 | (cp & 0x3f));
  return s;
}

const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* kQwenSplit =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
}  // namespace

WrittenTokenizer write_byte_level_tokenizer_json(const std::string& corpus_path, const std::string& out_path,
                                                 const std::string& family, int merges) {
  std::ifstream in(corpus_path);
  if (!in) throw InputError(corpus_path + ": cannot read the tokenizer training text");
  std::map<std::vector<std::string>, int64_t> words;  // as symbol sequences, with their counts
  std::string word;
  while (in >> word) {
    std::vector<std::string> symbols = {byte_char(' ')};
    for (unsigned char b : word) symbols.push_back(byte_char(b));
    ++words[symbols];
  }
  json vocab = json::object();
  int64_t next_id = 0;
  for (unsigned b = 0; b < 256; ++b) vocab[byte_char(b)] = next_id++;
  json merge_list = json::array();
  for (int m = 0; m < merges; ++m) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [seq, count] : words)
      for (size_t i = 0; i + 1 < seq.size(); ++i) pairs[{seq[i], seq[i + 1]}] += count;
    if (pairs.empty()) break;
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second) best = it;  // map order: ties go to the smaller pair
    const auto [a, b] = best->first;
    merge_list.push_back(a + " " + b);
    if (!vocab.contains(a + b)) vocab[a + b] = next_id++;
    std::map<std::vector<std::string>, int64_t> merged;
    for (const auto& [seq, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < seq.size(); ++i) {
        if (i + 1 < seq.size() && seq[i] == a && seq[i + 1] == b) out.push_back(a + b), ++i;
        else out.push_back(seq[i]);
      }
      merged[out] += count;
    }
    words = std::move(merged);
  }
  const bool llama3 = family == "llama3";
  const std::vector<std::string> specials =
      llama3 ? std::vector<std::string>{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"}
             : std::vector<std::string>{"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  WrittenTokenizer written;
  json added = json::array();
  for (const auto& s : specials) {
    added.push_back({{"id", next_id}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
    if (s == "<|begin_of_text|>") written.bos_id = next_id;
    if (s == "<|end_of_text|>" || s == "<|endoftext|>") written.eos_id = next_id;
    ++next_id;
  }
  written.vocab_size = next_id;
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}};
  json pre, post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  if (family == "smollm") {
    json bl = byte_level;
    bl["use_regex"] = true;
    pre = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, bl}}};
  } else {
    pre = {{"type", "Sequence"},
           {"pretokenizers",
            {{{"type", "Split"}, {"pattern", {{"Regex", llama3 ? kLlama3Split : kQwenSplit}}}, {"behavior", "Isolated"},
              {"invert", false}},
             byte_level}}};
  }
  if (llama3) {
    const json bos = {{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}};
    post = {{"type", "Sequence"},
            {"processors",
             {post,
              {{"type", "TemplateProcessing"},
               {"single", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
               {"pair", {bos, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}, bos, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
               {"special_tokens",
                {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {written.bos_id}}, {"tokens", {"<|begin_of_text|>"}}}}}}}}}};
  }
  const json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", family == "qwen" ? json{{"type", "NFC"}} : json(nullptr)},
      {"pre_tokenizer", pre},
      {"post_processor", post},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", llama3},
        {"vocab", vocab}, {"merges", merge_list}}},
  };
  write_text_file(out_path, j.dump(1) + "\n");
  return written;
}

}  // namespace enwanda
