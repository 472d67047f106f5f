#include "enwanda/io/output_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
std::string temp_prefix(const fs::path& target) { return "." + target.filename().string() + ".tmp-"; }

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}
}  // namespace

bool rename_no_replace(const std::string& temp, const std::string& target) {
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST || errno == ENOTEMPTY) return false;
  if (errno != EINVAL && errno != ENOSYS) throw IoError(errno_message("cannot rename " + temp + " to " + target));
  // a file system without RENAME_NOREPLACE: link() refuses an existing target as well
  struct stat st {};
  if (::lstat(temp.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    if (exists_nofollow(target)) return false;
    if (::rename(temp.c_str(), target.c_str()) != 0) throw IoError(errno_message("cannot rename " + temp + " to " + target));
    return true;
  }
  if (::link(temp.c_str(), target.c_str()) != 0) {
    if (errno == EEXIST) return false;
    throw IoError(errno_message("cannot link " + temp + " to " + target));
  }
  ::unlink(temp.c_str());
  return true;
}

void keep_and_refuse(const std::string& temp, const std::string& target) {
  const std::string kept = target + ".kept-" + std::to_string(::getpid());
  std::string where = kept;
  if (!rename_no_replace(temp, kept)) where = temp;
  unregister_temporary(temp);
  throw UsageError(target + " appeared while this run was writing it (another run, or a user); refusing to replace "
                   "it. This run's result is kept as " + where);
}

void remove_stale_temporaries(const std::string& target) {
  const fs::path t = fs::absolute(target).lexically_normal();
  const fs::path parent = t.parent_path();
  const std::string prefix = temp_prefix(t);
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits > 9 || (digits < rest.size() && rest[digits] != '-')) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, digits)));
    if (pid == ::getpid() || !process_is_gone(pid)) continue;  // alive (or not ours to judge)
    remove_tree(it->path().string());
    spdlog::info("removed {}, left by an enwanda run (process {}) that is gone", it->path().string(), pid);
  }
}

OutputFile::OutputFile(const std::string& target, bool overwrite) : overwrite_(overwrite) {
  fs::path t = fs::absolute(target).lexically_normal();
  target_ = t.string();
  remove_stale_temporaries(target_);
  std::random_device rd;
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    char suffix[16];
    std::snprintf(suffix, sizeof(suffix), "%08x", static_cast<unsigned>(rd()));
    temp_ = (t.parent_path() / (temp_prefix(t) + std::to_string(::getpid()) + "-" + suffix)).string();
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd_ < 0 && errno != EEXIST) throw IoError(errno_message("cannot create " + temp_ + " (beside " + target + ")"));
  }
  if (fd_ < 0) throw IoError("cannot create a temporary file beside " + target);
  register_temporary(temp_);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) {
    ::unlink(temp_.c_str());
    unregister_temporary(temp_);
  }
}

void OutputFile::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw IoError(errno_message("cannot write " + target_ + " (through " + temp_ + ")"));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void OutputFile::close() {
  if (fd_ < 0) return;
  const int rc = ::fsync(fd_);
  const int rc_close = ::close(fd_);
  fd_ = -1;
  if (rc != 0 || rc_close != 0) throw IoError(errno_message("cannot write " + target_ + " (through " + temp_ + ")"));
}

void OutputFile::commit() {
  if (fd_ >= 0) close();
  else fsync_path(temp_);
  done_ = true;  // from here on the temporary is either placed or kept, never silently removed
  struct stat st {};
  if (::lstat(target_.c_str(), &st) == 0) {
    if (!overwrite_ || !S_ISREG(st.st_mode) || !written_by_enwanda(target_)) keep_and_refuse(temp_, target_);
    if (::rename(temp_.c_str(), target_.c_str()) != 0) {
      done_ = false;
      throw IoError(errno_message("cannot rename " + temp_ + " to " + target_));
    }
  } else if (!rename_no_replace(temp_, target_)) {
    keep_and_refuse(temp_, target_);
  }
  unregister_temporary(temp_);
  fsync_path(fs::path(target_).parent_path().string());
}

}  // namespace enwanda
