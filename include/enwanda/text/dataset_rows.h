// Text as HuggingFace datasets rows: what `load_dataset("wikitext", ...)["text"]` holds for a raw
// .raw/.tokens file, so that `"\n\n".join(rows)` (the papers' evaluation text) and `" ".join(rows)`
// (get_wikitext2's calibration text) are built from the same strings as in Python.
#pragma once

#include <string>
#include <vector>

namespace enwanda {

// How text files are read: as the file's bytes (the default), or as HF datasets rows (--rows hf).
enum class RowsView { file, hf };
RowsView parse_rows_view(const std::string& name);  // "file" or "hf"; throws UsageError
const char* rows_view_name(RowsView v);

// The rows HF's wikitext builder yields for a text file (datasets/wikitext/wikitext.py,
// _generate_examples): the file opened in Python's text mode ("\r\n" and a lone "\r" read as "\n"),
// one row per line with its "\n" kept, and "" for a line that is empty after Python's str.strip()
// (Unicode whitespace, as str.isspace). The content must be UTF-8.
std::vector<std::string> hf_text_rows(const std::string& content);

// rows joined with `separator` between them (Python's separator.join(rows))
std::string join_rows(const std::vector<std::string>& rows, const std::string& separator);

}  // namespace enwanda
