#include "console_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/replace_guard.h"

namespace enwanda::cli {

void setup_logging(bool verbose, bool quiet, const std::string& log_file, const std::vector<std::string>& files) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::vector<spdlog::sink_ptr> sinks{console};
  if (!log_file.empty()) {
    for (const auto& f : files)
      if (!f.empty() && path_is_within(log_file, f))
        throw UsageError("--log-file " + log_file + " is " + f + ", a file of this run, or inside it; log elsewhere");
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw IoError(errno_message("--log-file " + log_file + ": cannot open it for appending"));
    ::close(fd);
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, /*truncate=*/false));
  }
  auto logger = std::make_shared<spdlog::logger>("enwanda", sinks.begin(), sinks.end());
  logger->set_pattern("%H:%M:%S %^%l%$ %v");
  // a sink that fails (the log file's disk full) is reported once, not on every line
  logger->set_error_handler([](const std::string& msg) {
    static bool said = false;
    if (!said) std::fprintf(stderr, "enwanda: warning: logging failed: %s\n", msg.c_str());
    said = true;
  });
  spdlog::set_default_logger(logger);
  spdlog::set_level(verbose ? spdlog::level::debug : quiet ? spdlog::level::warn : spdlog::level::info);
}

namespace {
bool g_stdout_closed = false;

[[noreturn]] void stdout_failed(int err) {
  throw IoError(std::string("cannot write the result to standard output: ") + std::strerror(err) +
                (err == EPIPE ? " (the reading end was closed)" : ""));
}
}  // namespace

void guard_standard_streams() {
  for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int null_fd = ::open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);  // the lowest free: fd
    if (null_fd >= 0 && null_fd != fd) ::close(null_fd);
    if (fd == STDOUT_FILENO) g_stdout_closed = true;
  }
}

void print_result(const std::string& text) {
  if (g_stdout_closed) stdout_failed(EBADF);
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) stdout_failed(errno ? errno : EIO);
}

void finish_stdout() {
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) stdout_failed(errno ? errno : EIO);
}

}  // namespace enwanda::cli
