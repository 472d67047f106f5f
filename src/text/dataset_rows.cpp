#include "enwanda/text/dataset_rows.h"

#include <cstdint>

#include "enwanda/errors.h"

namespace enwanda {

RowsView parse_rows_view(const std::string& name) {
  if (name == "file") return RowsView::file;
  if (name == "hf") return RowsView::hf;
  throw UsageError("--rows must be file or hf, got " + name);
}

const char* rows_view_name(RowsView v) { return v == RowsView::hf ? "hf" : "file"; }

namespace {
// Python's str.isspace for one code point: bidirectional class WS, B or S, or category Zs.
bool python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

// Whether a line (valid UTF-8) holds only Python whitespace.
bool blank_for_python(const std::string& line) {
  const auto* b = reinterpret_cast<const unsigned char*>(line.data());
  for (size_t i = 0; i < line.size();) {
    const unsigned lead = b[i];
    const size_t len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : 4;
    uint32_t c = len == 1 ? lead : len == 2 ? (lead & 0x1f) : len == 3 ? (lead & 0x0f) : (lead & 0x07);
    for (size_t k = 1; k < len && i + k < line.size(); ++k) c = (c << 6) | (b[i + k] & 0x3f);
    if (!python_space(c)) return false;
    i += len;
  }
  return true;
}
}  // namespace

std::vector<std::string> hf_text_rows(const std::string& content) {
  std::vector<std::string> rows;
  std::string line;
  auto end_line = [&] {
    line += '\n';
    rows.push_back(blank_for_python(line) ? std::string() : line);
    line.clear();
  };
  for (size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '\r') {  // universal newlines: "\r\n" and "\r" are one "\n"
      if (i + 1 < content.size() && content[i + 1] == '\n') ++i;
      end_line();
    } else if (c == '\n') {
      end_line();
    } else {
      line += c;
    }
  }
  if (!line.empty()) rows.push_back(blank_for_python(line) ? std::string() : line);  // a last line without "\n"
  return rows;
}

std::string join_rows(const std::vector<std::string>& rows, const std::string& separator) {
  size_t total = 0;
  for (const auto& r : rows) total += r.size() + separator.size();
  std::string out;
  out.reserve(total);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out += separator;
    out += rows[i];
  }
  return out;
}

}  // namespace enwanda
