// Where enwanda's words go: the log (stderr and --log-file) and the result (stdout).
//   The log file is appended to, never truncated, and may not be a file of the run: naming the
// calibration text or MODEL/config.json must not destroy it. A console that goes away (a closed
// pipe, `enwanda prune ... 2>&1 | head`; SIGPIPE is ignored) only stops the console log; the log
// file goes on. A result that cannot be written to stdout (closed pipe, full disk) is exit 4.
#pragma once

#include <string>
#include <vector>

namespace enwanda::cli {

// Throws UsageError when `log_file` is, or lies inside, one of `files` (the run's inputs and
// outputs), IoError naming it when it cannot be opened for appending.
void setup_logging(bool verbose, bool quiet, const std::string& log_file, const std::vector<std::string>& files);

// Called first: a standard stream closed at start (`enwanda ... >&-`) is opened on /dev/null, so
// that no file enwanda opens takes its descriptor (a result would be written into it); a result
// for a stdout closed that way fails as a closed one does.
void guard_standard_streams();

// Writes to stdout; throws IoError with the reason when it fails.
void print_result(const std::string& text);
// Flushes stdout; throws IoError with the reason when it fails (a full disk shows only here).
void finish_stdout();

}  // namespace enwanda::cli
