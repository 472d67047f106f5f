#include "enwanda/errors.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <new>

#include <unistd.h>

#include <c10/util/Exception.h>

namespace enwanda {

namespace {
std::atomic<int> g_signal{0};
// The first signal says at once that it was heard (the run stops at its next check, seconds later
// at most, and removes its partial output); write() is async-signal-safe, stdio is not.
extern "C" void on_signal(int sig) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, sig)) {
    static const char msg[] = "enwanda: stopping\xe2\x80\xa6 (removing partial output)\n";
    const ssize_t written = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)written;
  }
}

bool looks_like_oom(const std::string& msg) {
  return msg.find("out of memory") != std::string::npos ||
         msg.find("CUDA out of memory") != std::string::npos ||
         msg.find("DefaultCPUAllocator: can't allocate memory") != std::string::npos ||
         msg.find("DefaultCPUAllocator: not enough memory") != std::string::npos;
}

std::string first_line(const std::string& s) {
  auto pos = s.find('\n');
  return pos == std::string::npos ? s : s.substr(0, pos);
}
}  // namespace

namespace {
ExitCode exit_code_of(int signal_number) {
  return signal_number == SIGTERM ? ExitCode::interrupted_term
         : signal_number == SIGHUP ? ExitCode::interrupted_hup
                                   : ExitCode::interrupted_int;
}
const char* signal_name(int signal_number) {
  return signal_number == SIGTERM ? "SIGTERM" : signal_number == SIGHUP ? "SIGHUP (the terminal or ssh session closed)" : "SIGINT";
}
}  // namespace

InterruptedError::InterruptedError(int signal_number)
    : Error(exit_code_of(signal_number),
            std::string("interrupted by ") + signal_name(signal_number) + "; partial output removed") {}

std::string errno_message(const std::string& what) { return what + ": " + std::strerror(errno); }

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // an ssh session dropping: stop as for SIGTERM, output removed
  // A closed pipe (`enwanda ... | head`) must surface as EPIPE from write(): the console log stops,
  // a result that cannot be written is exit 4 (tools/enwanda/console_output.h).
  std::signal(SIGPIPE, SIG_IGN);
  // Exceeding RLIMIT_FSIZE must surface as EFBIG from write(), not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
}

int pending_signal() { return g_signal.load(); }

void check_interrupted() {
  int sig = g_signal.load();
  if (sig != 0) throw InterruptedError(sig);
}

ErrorReport describe_exception(const std::exception& e) {
  if (auto* err = dynamic_cast<const Error*>(&e)) return {err->code(), err->what()};
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return {ExitCode::out_of_memory, "out of host memory; try a smaller --batch-size or --nsamples"};
  if (auto* fserr = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    // a path the run could not stat or open: a symlink loop is a bad input, the rest I/O failures
    const std::string path = fserr->path1().empty() ? "a path" : fserr->path1().string();
    if (fserr->code() == std::errc::too_many_symbolic_link_levels)
      return {ExitCode::bad_input, path + ": a symlink loop (" + fserr->code().message() + "); point it at a real file or directory"};
    return {ExitCode::io_failure, path + ": " + fserr->code().message()};
  }
  if (auto* c10err = dynamic_cast<const c10::Error*>(&e)) {
    std::string msg = c10err->what_without_backtrace();
    if (looks_like_oom(msg))
      return {ExitCode::out_of_memory,
              "out of memory: " + first_line(msg) + "; try a smaller --batch-size"};
    return {ExitCode::internal, "libtorch error: " + first_line(msg)};
  }
  std::string msg = e.what();
  if (looks_like_oom(msg))
    return {ExitCode::out_of_memory, "out of memory: " + first_line(msg) + "; try a smaller --batch-size"};
  return {ExitCode::internal, "internal error: " + first_line(msg)};
}

}  // namespace enwanda
