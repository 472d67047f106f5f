// JSON text in and out. Read from files enwanda did not write (configs, presets, indexes,
// tokenizer.json, reports): nesting is limited to kMaxJsonDepth levels (a file nested 100,000 deep
// would otherwise cost memory quadratic in its depth, or the stack), and a syntax error is said in
// plain words, not as "[json.exception.parse_error.101]". Written (reports, results): strings that
// are not UTF-8 (a path with Latin-1 bytes) are kept, each invalid byte as the text \xNN, rather
// than failing the run at its end.
#pragma once

#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace enwanda {

constexpr int kMaxJsonDepth = 256;

// Throws InputError naming `where`.
nlohmann::json parse_json(const std::string& text, const std::string& where);
nlohmann::json parse_json(std::istream& in, const std::string& where);

// `j` as text (indent as nlohmann's dump), every invalid UTF-8 byte of a string or key as "\xNN".
std::string dump_json(const nlohmann::json& j, int indent = 2);

// nlohmann's message without its "[json.exception.parse_error.101] " code.
std::string plain_json_error(const nlohmann::json::exception& e);

}  // namespace enwanda
