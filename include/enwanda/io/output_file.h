// A file output that appears whole or not at all, and never replaces what appeared meanwhile.
//   The bytes go to an exclusive temporary beside the target, ".NAME.tmp-PID-RANDOM", created with
// O_CREAT|O_EXCL|O_NOFOLLOW (a planted symlink or file is never written through). commit() fsyncs
// it and renames it onto the target without replacing (renameat2 RENAME_NOREPLACE, or link and
// unlink where the file system lacks it); with --overwrite it replaces only a file enwanda wrote,
// checked again at the commit. When the target is taken, the result is kept as "NAME.kept-PID" and
// the refusal names it.
#pragma once

#include <string>

namespace enwanda {

class OutputFile {
 public:
  OutputFile(const std::string& target, bool overwrite);
  ~OutputFile();  // uncommitted: removes the temporary
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  void write(const void* data, size_t n);  // throws IoError naming the target (disk full, ...)
  void close();                            // for writers that reopen temp_path() themselves
  void commit();

 private:
  std::string target_, temp_;
  bool overwrite_ = false;
  bool done_ = false;
  int fd_ = -1;
};

// Places the finished temporary `temp` (file or directory) at `target` without replacing anything
// there; false when `target` exists. Throws IoError on any other failure.
bool rename_no_replace(const std::string& temp, const std::string& target);

// Moves a finished temporary whose target was taken to "TARGET.kept-PID" and throws UsageError
// naming both.
[[noreturn]] void keep_and_refuse(const std::string& temp, const std::string& target);

// Removes temporaries ".NAME.tmp-PID..." beside `target` whose process is gone (killed, power cut),
// saying so in one line each.
void remove_stale_temporaries(const std::string& target);

}  // namespace enwanda
