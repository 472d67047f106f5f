// Error kinds of the enwanda library and the exit codes the CLI maps them to.
// Every failure the library can foresee is thrown as one of these, with a message that
// names the file, tensor or field and what was expected; the CLI prints it as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace enwanda {

enum class ExitCode : int {
  ok = 0,
  internal = 1,      // a bug: an unexpected exception
  usage = 2,         // bad flags or option values
  bad_input = 3,     // a malformed checkpoint, config, tokenizer, calibration or data file
  io_failure = 4,    // reading or writing failed (permissions, disk full, ...)
  out_of_memory = 5, // host or device memory exhausted
  interrupted_hup = 129,
  interrupted_int = 130,
  interrupted_term = 143,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

struct UsageError : Error {
  explicit UsageError(const std::string& w) : Error(ExitCode::usage, w) {}
};
struct InputError : Error {
  explicit InputError(const std::string& w) : Error(ExitCode::bad_input, w) {}
};
struct IoError : Error {
  explicit IoError(const std::string& w) : Error(ExitCode::io_failure, w) {}
};
struct OutOfMemoryError : Error {
  explicit OutOfMemoryError(const std::string& w) : Error(ExitCode::out_of_memory, w) {}
};
struct InterruptedError : Error {
  explicit InterruptedError(int signal_number);
};

// "what: strerror(errno)" for the current errno.
std::string errno_message(const std::string& what);

// Cooperative interruption: the CLI installs handlers for SIGINT/SIGTERM/SIGHUP that set a flag;
// long loops call check_interrupted() at safe points, which throws InterruptedError.
void install_interrupt_handlers();
void check_interrupted();
int pending_signal();  // 0 when none

// Maps any exception (including c10::Error out-of-memory) to an exit code and one line.
struct ErrorReport {
  ExitCode code;
  std::string message;
};
ErrorReport describe_exception(const std::exception& e);

}  // namespace enwanda
