// Reading text for calibration and evaluation: WikiText .raw/.tokens, plain .txt, .jsonl with
// a "text" field, or a directory of such files (sorted by name). Files are joined with "\n\n".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/text/dataset_rows.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

constexpr uint64_t kDefaultTextMaxMiB = 1024;  // above a C4 shard (about 830 MB) and WikiText-103 (540 MB)

// How text files are read. Every file is read once, in order (a FIFO or /dev/fd/N works), and
// refused past `max_bytes`, read or inflated from gzip, so that a gzip bomb cannot exhaust memory.
struct TextReadOptions {
  std::string field = "text";                     // --calib-field: a JSON-lines record's text
  uint64_t max_bytes = kDefaultTextMaxMiB << 20;  // --calib-max-mib, per file
  std::string limit_flag;                         // the option that raises it, named in the refusal
};

std::string read_text_corpus(const std::vector<std::string>& paths, const TextReadOptions& o = {});  // throws InputError
// The files read for `paths` (directories expanded, sorted by name), as read_text_corpus reads them.
std::vector<std::string> corpus_file_paths(const std::vector<std::string>& paths);
// The records of JSON-lines files (plain text files are refused), parsed only when drawn: the
// files' bytes are held once, with where each record's line is (a C4 shard: 830 MB, 356k records,
// of which a calibration set parses a few hundred). Every line must at least open an object.
class DocumentIndex {
 public:
  DocumentIndex(const std::vector<std::string>& paths, const TextReadOptions& o = {});  // throws InputError
  size_t size() const { return records_.size(); }
  std::string text(size_t i) const;  // record i's text field; a malformed record is an InputError naming file:line

 private:
  struct File {
    std::string path, bytes;
  };
  struct Record {
    uint32_t file;
    size_t begin, end;
    int64_t lineno;
  };
  TextReadOptions options_;
  std::vector<File> files_;
  std::vector<Record> records_;
};
// The files' rows as HF datasets loads them: a JSON-lines file's records (the json builder), a text
// file's lines as the wikitext builder yields them (hf_text_rows), files in order.
std::vector<std::string> read_text_rows(const std::vector<std::string>& paths, const TextReadOptions& o = {});
// The text of `paths`: read_text_corpus for RowsView::file, else the rows joined with
// `row_separator` ("\n\n" for evaluation, " " for get_wikitext2's calibration text).
std::string read_text(const std::vector<std::string>& paths, RowsView rows, const std::string& row_separator,
                      const TextReadOptions& o = {});

// A file's size and sha256 over its bytes on disk, as the readers above took them while reading
// (a stream cannot be read twice); for a file not read yet, as it is now.
struct FileDigest {
  std::string path;
  uint64_t bytes = 0;
  std::string sha256;
};
FileDigest text_file_digest(const std::string& path);

// Tokenises the text with BOS at the start. Text over chunk_bytes is encoded in chunks, one
// worker thread per core: each chunk ends just before a space between two words, and each chunk
// after the first drops that space where the model's dummy prefix puts it back, so the tokens
// equal those of encoding the text whole (tokenizer_test checks this). Small chunks are also
// faster: sentencepiece's encoding slows down on long inputs (docs/commands.md, "enwanda prune").
constexpr size_t kCorpusChunkBytes = size_t{64} << 10;
// Logs once how many special-token literals became ids.
std::vector<int64_t> tokenize_corpus(const Tokenizer& tok, const std::string& text,
                                     size_t chunk_bytes = kCorpusChunkBytes,
                                     SpecialLiterals literals = SpecialLiterals::as_ids);
// The log line for literals matched since the last call (none when there were none).
void log_special_literals(const Tokenizer& tok);

}  // namespace enwanda
