// Unicode text as HuggingFace tokenizers reads it: UTF-8 characters, GPT-2's byte-to-character
// table, NFC (libutf8proc), and regexes (PCRE2 in UTF + UCP mode) with \s and \S rewritten to
// Unicode's White_Space, as HF's Oniguruma reads them (PCRE2's own \s also takes U+180E).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace enwanda {

size_t utf8_length(unsigned char lead);                   // bytes of the character a lead byte opens
std::vector<std::string> utf8_chars(const std::string& s);  // the characters, each as its bytes
std::string utf8_encode(uint32_t code_point);
const std::array<std::string, 256>& byte_chars();  // GPT-2's table: printable bytes as themselves, others 256 + n
std::string nfc(const std::string& s);              // invalid UTF-8 comes back unchanged
std::string replace_all(std::string s, const std::string& from, const std::string& to);

class UnicodeRegex {
 public:
  UnicodeRegex(const std::string& pattern, const std::string& where);  // throws InputError naming `where`
  ~UnicodeRegex();
  UnicodeRegex(const UnicodeRegex&) = delete;
  UnicodeRegex& operator=(const UnicodeRegex&) = delete;
  // [begin, end) of each non-empty match, left to right, as HF's find_iter
  std::vector<std::pair<size_t, size_t>> matches(const std::string& s) const;

 private:
  void* code_ = nullptr;  // pcre2_code
};

}  // namespace enwanda
