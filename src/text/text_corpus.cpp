#include "enwanda/text/text_corpus.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/text/calibration.h"
#include "enwanda/model/runtime.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

[[noreturn]] void refuse_size(const fs::path& p, const TextReadOptions& o, const char* what) {
  throw InputError(p.string() + ": " + what + " more than " + std::to_string(o.max_bytes >> 20) +
                   " MiB of text, the limit" + (o.limit_flag.empty() ? std::string() : " (" + o.limit_flag + " raises it)") +
                   "; name a smaller file, or a part of it");
}

// The bytes on disk, read once and in order: a FIFO or /dev/fd/N (--calib <(zcat c4.json.gz))
// can be read only once and has no size to probe. Recorded, with their sha256, for the report.
std::string read_raw(const fs::path& p, const TextReadOptions& o) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw InputError(p.string() + ": cannot read");
  std::string raw;
  std::error_code ec;  // a regular file's size, reserved: appends alone peak near 2x the file (growth by doubling)
  if (fs::is_regular_file(p, ec)) {
    const uint64_t size = fs::file_size(p, ec);
    if (!ec && size > o.max_bytes) refuse_size(p, o, "holds");  // refused before a byte is read
    if (!ec) raw.reserve(static_cast<size_t>(size));
  }
  std::vector<char> buf(size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    raw.append(buf.data(), static_cast<size_t>(in.gcount()));
    if (raw.size() > o.max_bytes) refuse_size(p, o, "holds");
  }
  if (in.bad()) throw InputError(p.string() + ": read failed");
  return raw;
}

// gzip members inflated one after another (concatenated members included), each piece of output
// handed to `sink` as it comes.
template <typename Sink>
void inflate_members(const fs::path& p, const std::string& raw, const TextReadOptions& o, Sink&& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw InputError(p.string() + ": cannot open as gzip");
  struct End {
    z_stream& zs;
    ~End() { inflateEnd(&zs); }
  } end{zs};
  if (raw.size() > std::numeric_limits<uInt>::max()) refuse_size(p, o, "holds");  // zlib counts in 32 bits
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  std::vector<char> buf(size_t{1} << 20);
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    sink(buf.data(), buf.size() - zs.avail_out);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) return;
      if (inflateReset(&zs) != Z_OK) throw InputError(p.string() + ": corrupt gzip data");
      continue;  // the next member
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) throw InputError(p.string() + ": corrupt gzip data (truncated)");
    if (rc != Z_OK) throw InputError(p.string() + ": corrupt gzip data (" + (zs.msg ? zs.msg : "inflate failed") + ")");
  }
}

// The inflated text, in two passes: the first only counts (a gzip bomb, 6 MB inflating to 6 GiB,
// is refused at the limit having held nothing but a 1 MiB buffer), the second fills a string
// reserved to the exact size (growth by doubling would hold the old and the new buffer at once,
// up to twice the limit). The gzip trailer's ISIZE is not used: it is the size mod 2^32, and a
// hostile file can say anything there.
std::string inflate_gzip(const fs::path& p, const std::string& raw, const TextReadOptions& o) {
  uint64_t total = 0;
  inflate_members(p, raw, o, [&](const char*, size_t n) {
    total += n;
    if (total > o.max_bytes) refuse_size(p, o, "inflates to");
  });
  std::string out;
  out.reserve(static_cast<size_t>(total));
  inflate_members(p, raw, o, [&](const char* data, size_t n) { out.append(data, n); });
  return out;
}

std::mutex g_digests_mutex;
std::map<std::string, FileDigest> g_digests;  // by the path as read

// The file's bytes; gzip (by its magic bytes, whatever the name) decompressed through zlib,
// concatenated members included.
std::string read_bytes(const fs::path& p, const TextReadOptions& o) {
  std::string raw = read_raw(p, o);
  {
    std::lock_guard<std::mutex> lock(g_digests_mutex);
    g_digests[p.string()] = {p.string(), raw.size(), sha256_hex(raw.data(), raw.size())};
  }
  const bool gzip = raw.size() >= 2 && static_cast<unsigned char>(raw[0]) == 0x1f && static_cast<unsigned char>(raw[1]) == 0x8b;
  if (!gzip) {
    if (p.extension() == ".gz") throw InputError(p.string() + ": named .gz but not gzip-compressed (no gzip magic bytes)");
    return raw;
  }
  return inflate_gzip(p, raw, o);
}

// Text must be UTF-8 without NUL bytes: anything else is a binary file under a text name.
void require_text(const fs::path& p, const std::string& s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = b[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = c != 0 && len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (b[i + k] & 0xc0) == 0x80;
    if (!ok) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", c);
      throw InputError(p.string() + ": byte " + std::to_string(i) + " (" + hex + ") is " +
                       (c == 0 ? "a NUL" : "not UTF-8") + ": not a text file (binary data?)");
    }
    i += len;
  }
}

// JSON lines, recognised by content: the first non-blank line is a JSON object with the text field.
bool looks_like_json_lines(const std::string& s, const std::string& field) {
  const size_t start = s.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || s[start] != '{') return false;
  const size_t end = s.find('\n', start);
  nlohmann::json j;
  try {
    j = parse_json(s.substr(start, end == std::string::npos ? std::string::npos : end - start), "");
  } catch (const InputError&) {
    return false;
  }
  return j.is_object() && j.contains(field);
}

// A file's documents: each JSON-lines record's "text", or the whole of a plain text file.
struct FileText {
  std::vector<std::string> documents;
  bool json_lines = false;
};

// A file's bytes, checked as text; *json_lines says whether they are JSON lines (by name or content).
std::string read_checked(const fs::path& p, const TextReadOptions& o, bool* json_lines) {
  std::string content = read_bytes(p, o);
  require_text(p, content);
  const std::string name = p.filename().string();
  const bool named_jsonl = ends_with(name, ".jsonl") || ends_with(name, ".jsonl.gz") || ends_with(name, ".json") ||
                           ends_with(name, ".json.gz");
  *json_lines = named_jsonl || looks_like_json_lines(content, o.field);
  if (!*json_lines) return content;
  if (const size_t start = content.find_first_not_of(" \t\r\n"); start != std::string::npos && content[start] == '[')
    throw InputError(p.string() + ": a JSON array; enwanda reads JSON lines (one {\"" + o.field +
                     "\": ...} object per line). Convert it: jq -c '.[]' " + p.string() + " > " +
                     (p.parent_path() / (ends_with(name, ".gz") ? p.stem().stem() : p.stem())).string() + ".jsonl");
  return content;
}

// Calls fn(begin, end, lineno) for each line of `content` that is not blank (as getline splits).
template <class Fn>
void for_each_record_line(const std::string& content, Fn fn) {
  int64_t lineno = 0;
  for (size_t begin = 0; begin < content.size();) {
    size_t end = content.find('\n', begin);
    if (end == std::string::npos) end = content.size();
    ++lineno;
    bool blank = true;
    for (size_t i = begin; i < end && blank; ++i) blank = content[i] == ' ' || content[i] == '\t' || content[i] == '\r';
    if (!blank) fn(begin, end, lineno);
    begin = end + 1;
  }
}

// One JSON-lines record's text field; errors name file:line.
std::string record_text(const std::string& line, const std::string& where, const TextReadOptions& o) {
  nlohmann::json j;
  try {
    j = parse_json(line, where);
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (JSON lines expected: one {\"" + o.field + "\": ...} object per line)");
  }
  if (!j.is_object() || !j.contains(o.field) || !j[o.field].is_string())
    throw InputError(where + ": expected an object with a \"" + o.field + "\" string" +
                     (o.field == "text" ? " (--calib-field names another field)" : ""));
  return j[o.field].get<std::string>();
}

FileText read_one(const fs::path& p, const TextReadOptions& o) {
  bool json_lines = false;
  std::string content = read_checked(p, o, &json_lines);
  if (!json_lines) return {{std::move(content)}, false};
  FileText out{{}, true};
  for_each_record_line(content, [&](size_t begin, size_t end, int64_t lineno) {
    out.documents.push_back(record_text(content.substr(begin, end - begin), p.string() + ":" + std::to_string(lineno), o));
  });
  return out;
}

bool calibration_file_name(const std::string& n) {
  for (const char* ext : {".raw", ".tokens", ".txt", ".jsonl", ".json"})
    if (ends_with(n, ext) || ends_with(n, std::string(ext) + ".gz")) return true;
  return false;
}
}  // namespace

namespace {
// The files that `paths` name: files as given, directories' calibration files sorted by name.
std::vector<fs::path> corpus_files(const std::vector<std::string>& paths) {
  std::vector<fs::path> files;
  for (const auto& p : paths) {
    if (!fs::exists(p)) throw InputError(p + ": calibration/evaluation text does not exist");
    if (fs::is_directory(p)) {
      std::vector<fs::path> inside;
      for (const auto& e : fs::directory_iterator(p)) {
        const std::string n = e.path().filename().string();
        if (e.is_regular_file() && calibration_file_name(n)) inside.push_back(e.path());
        else spdlog::debug("{}: skipped {} ({})", p, n, e.is_regular_file() ? "not .raw, .tokens, .txt, .jsonl or .json (.gz)" : "not a file");
      }
      std::sort(inside.begin(), inside.end());
      if (inside.empty()) throw InputError(p + ": directory holds no .raw, .tokens, .txt, .jsonl or .json files (or .gz of them)");
      std::string used;
      for (const auto& f : inside) used += (used.empty() ? "" : ", ") + f.filename().string();
      spdlog::info("{}: reading {} file(s): {}", p, inside.size(), used);
      // A WikiText directory holds train, valid and test: joined, calibration would see the
      // evaluation text.
      std::string splits;
      for (const auto& f : inside)
        if (f.filename().string().rfind("wiki.", 0) == 0) splits += (splits.empty() ? "" : ", ") + f.filename().string();
      if (splits.find(", ") != std::string::npos)
        spdlog::warn("{} holds several WikiText files ({}); all of them are joined. Name one file, e.g. "
                     "{}/wiki.train.raw, to use one split", p, splits, p);
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(p);
    }
  }
  return files;
}
}  // namespace

std::string read_text_corpus(const std::vector<std::string>& paths, const TextReadOptions& o) {
  std::string text;
  for (const auto& f : corpus_files(paths))
    for (const auto& doc : read_one(f, o).documents) {
      if (!text.empty()) text += "\n\n";
      text += doc;
    }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw InputError((paths.empty() ? std::string("(no path)") : paths[0]) + ": text is empty");
  return text;
}

std::vector<std::string> corpus_file_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& f : corpus_files(paths)) out.push_back(f.string());
  return out;
}

DocumentIndex::DocumentIndex(const std::vector<std::string>& paths, const TextReadOptions& o) : options_(o) {
  for (const auto& f : corpus_files(paths)) {
    bool json_lines = false;
    std::string bytes = read_checked(f, o, &json_lines);
    if (!json_lines)
      throw InputError(f.string() + ": --calib-sampling documents draws JSON-lines records (one {\"text\": ...} per "
                       "line, as C4 ships); this file is plain text");
    const auto file = static_cast<uint32_t>(files_.size());
    for_each_record_line(bytes, [&](size_t begin, size_t end, int64_t lineno) {
      if (bytes[bytes.find_first_not_of(" \t\r", begin)] != '{')  // the cheap part of the check, on every line
        record_text(bytes.substr(begin, end - begin), f.string() + ":" + std::to_string(lineno), o);  // throws
      records_.push_back({file, begin, end, lineno});
    });
    files_.push_back({f.string(), std::move(bytes)});
  }
  if (records_.empty()) throw InputError(paths.empty() ? std::string("(no path)") : paths[0] + ": no documents");
}

std::string DocumentIndex::text(size_t i) const {
  const Record& r = records_.at(i);
  const File& f = files_[r.file];
  return record_text(f.bytes.substr(r.begin, r.end - r.begin), f.path + ":" + std::to_string(r.lineno), options_);
}

std::vector<std::string> read_text_rows(const std::vector<std::string>& paths, const TextReadOptions& o) {
  std::vector<std::string> rows;
  for (const auto& f : corpus_files(paths)) {
    FileText t = read_one(f, o);
    if (t.json_lines) {
      for (auto& d : t.documents) rows.push_back(std::move(d));
    } else {
      for (auto& r : hf_text_rows(t.documents.at(0))) rows.push_back(std::move(r));
    }
  }
  if (rows.empty()) throw InputError((paths.empty() ? std::string("(no path)") : paths[0]) + ": no rows");
  return rows;
}

std::string read_text(const std::vector<std::string>& paths, RowsView rows, const std::string& row_separator,
                      const TextReadOptions& o) {
  if (rows == RowsView::file) return read_text_corpus(paths, o);
  return join_rows(read_text_rows(paths, o), row_separator);
}

FileDigest text_file_digest(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(g_digests_mutex);
    if (auto it = g_digests.find(path); it != g_digests.end()) return it->second;
  }
  return {path, fs::file_size(path), file_sha256(path)};
}

void log_special_literals(const Tokenizer& tok) {
  if (const int64_t n = tok.take_literal_count())
    spdlog::info("{} special-token literal(s) in the text (such as <unk>) encoded as their ids, as transformers does "
                 "(--split-special-tokens: as plain text)", n);
}

namespace {
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_word_space(const std::string& text, size_t i) {
  return i > 0 && i + 1 < text.size() && text[i] == ' ' && is_word_char(text[i - 1]) && is_word_char(text[i + 1]);
}

// How a chunk after a cut "x| y" must be encoded so that the pieces equal those of the whole text:
// without its leading space where the model adds a dummy prefix (LLaMA: "y" encodes as "▁y"), with
// it where the model does not; found by probing "a b". nullopt: cuts at spaces are unsafe, because
// a piece holds "▁" after another character (a vocabulary trained without split_by_whitespace;
// LLaMA-2's 32000 pieces have none) or neither way reproduces "a b".
std::optional<bool> chunk_drops_leading_space(const Tokenizer& tok) {
  const std::string space = "\xe2\x96\x81";  // ▁
  for (int64_t id = 0; id < tok.vocab_size(); ++id) {
    const std::string piece = tok.piece(id);
    size_t lead = 0;  // a run of ▁ may open a piece; one after any other character may not
    while (piece.compare(lead, space.size(), space) == 0) lead += space.size();
    if (piece.find(space, lead) != std::string::npos) return std::nullopt;
  }
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

// Chunks [from, end) of about chunk_bytes, each ending just before a space between two word
// characters (the last space of that kind before pos + chunk_bytes, else the first after it, else
// the end of the text). Sentencepiece starts a new word at such a space, so no piece of the whole
// text's encoding spans a cut.
std::vector<std::pair<size_t, size_t>> word_chunks(const std::string& text, size_t chunk_bytes, bool drop_space) {
  std::vector<std::pair<size_t, size_t>> chunks;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.size();
    if (pos + chunk_bytes < text.size()) {
      size_t cut = pos + chunk_bytes;
      while (cut > pos + 1 && !is_word_space(text, cut)) --cut;
      if (cut <= pos + 1)
        for (cut = pos + chunk_bytes; cut < text.size() && !is_word_space(text, cut);) ++cut;
      end = cut;
    }
    chunks.push_back({pos > 0 && drop_space ? pos + 1 : pos, end});
    pos = end;
  }
  return chunks;
}
}  // namespace

std::vector<int64_t> tokenize_corpus(const Tokenizer& tok, const std::string& text, size_t chunk_bytes,
                                     SpecialLiterals literals) {
  tok.take_literal_count();
  struct LogLiterals {
    const Tokenizer& tok;
    ~LogLiterals() { log_special_literals(tok); }
  } log_literals{tok};
  const auto drop_space = text.size() > chunk_bytes ? chunk_drops_leading_space(tok) : std::nullopt;
  if (!drop_space) {  // short, or a model the cuts do not fit
    if (text.size() > chunk_bytes)
      spdlog::info("this tokenizer's pieces may span spaces: encoding {} KB in one call", text.size() >> 10);
    return tok.encode(text, /*add_bos=*/true, literals);
  }
  const auto chunks = word_chunks(text, chunk_bytes, *drop_space);

  // Sentencepiece's Encode is thread-safe (google/sentencepiece#207): chunks are encoded by one
  // worker per core, each taking the next chunk, and joined in order.
  std::vector<std::vector<int64_t>> parts(chunks.size());
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<bool> stop{false};
  uint64_t chunk_total = 0;
  for (const auto& [from, end] : chunks) chunk_total += end - from;
  const bool report = text.size() >= (size_t{64} << 20);
  std::mutex report_mutex;
  uint64_t reported = 0;
  std::vector<std::exception_ptr> failures(static_cast<size_t>(std::max(1, worker_threads())));
  auto work = [&](std::exception_ptr& failure) {
    try {
      while (!stop) {
        const size_t i = next++;
        if (i >= chunks.size()) break;
        check_interrupted();
        const auto [from, end] = chunks[i];
        parts[i] = tok.encode(text.substr(from, end - from), /*add_bos=*/false, literals);
        const uint64_t before = bytes_done.fetch_add(end - from), after = before + (end - from);
        if (report && after * 10 / chunk_total != before * 10 / chunk_total) {
          std::lock_guard<std::mutex> lock(report_mutex);  // lines in order: a later decile may finish first
          if (after > reported) reported = after, spdlog::info("tokenised {} of {} MB", after >> 20, chunk_total >> 20);
        }
      }
    } catch (...) {
      failure = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 1; w < failures.size(); ++w) workers.emplace_back(work, std::ref(failures[w]));
  work(failures[0]);
  for (auto& t : workers) t.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);

  const auto prefix = tok.prefix_ids(), suffix = tok.suffix_ids();
  size_t total = prefix.size() + suffix.size();
  for (const auto& p : parts) total += p.size();
  std::vector<int64_t> ids(prefix);
  ids.reserve(total);
  for (auto& p : parts) ids.insert(ids.end(), p.begin(), p.end()), std::vector<int64_t>().swap(p);
  ids.insert(ids.end(), suffix.begin(), suffix.end());
  return ids;
}

}  // namespace enwanda
