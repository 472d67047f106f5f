// An output directory that appears only when complete: everything is written into a
// temporary sibling (".NAME.tmp-PID"), fsynced, and renamed into place by commit() without
// replacing what appeared meanwhile (what is there at the commit is checked again; a refused
// result is kept as "NAME.kept-PID"). Destroying it uncommitted (error, interrupt) removes the
// temporary directory; temporaries of enwanda processes that are gone are removed first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace enwanda {

class OutputDirectory {
 public:
  // Refuses what replace_guard.h refuses: an existing `final_dir` without `overwrite`, one that
  // enwanda did not write or that holds an input of the run (`inputs`), a missing parent.
  // Throws UsageError / IoError.
  OutputDirectory(const std::string& final_dir, bool overwrite, const std::vector<std::string>& inputs = {});
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  const std::string& path() const { return temp_; }  // write here
  const std::string& final_path() const { return final_; }
  void commit();

 private:
  std::string final_;
  std::string temp_;
  bool overwrite_ = false;
  std::vector<std::string> inputs_;  // checked again at the commit
  bool committed_ = false;
};

// Refuses (IoError) when the file system that holds or would hold `out_dir` has less than `bytes`
// available: a 7B checkpoint is 13.5 GB, better said before the pruning than after it. With
// --overwrite an old `out_dir` stays until commit(), so its space does not count as free.
void require_free_space(const std::string& out_dir, uint64_t bytes);

// Removes `path` and everything under it, quietly, as far as it can. POSIX nftw, not
// std::filesystem::remove_all: the PyTorch wheel's libtorch.so exports its own remove_all, which
// crashed when called from enwanda (a null call inside it).
void remove_tree(const std::string& path);

void fsync_path(const std::string& path);  // file or directory; throws IoError
// Writes `text` to `path`, throwing IoError (naming the file) if anything fails, e.g. disk full.
void write_text_file(const std::string& path, const std::string& text);
// The same through an exclusive temporary and a rename that replaces only what enwanda wrote
// (output_file.h), so readers never see a half-written file.
void write_text_file_atomic(const std::string& path, const std::string& text, bool overwrite);

}  // namespace enwanda
