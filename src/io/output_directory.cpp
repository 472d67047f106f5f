#include "enwanda/io/output_directory.h"

#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/replace_guard.h"

namespace fs = std::filesystem;

namespace enwanda {

void require_free_space(const std::string& out_dir, uint64_t bytes) {
  std::error_code ec;
  fs::path dir = fs::absolute(out_dir).lexically_normal();
  while (!fs::exists(dir, ec) && dir.has_relative_path()) dir = dir.parent_path();  // the nearest that exists
  const fs::space_info space = fs::space(dir, ec);
  if (ec || space.available >= bytes) return;  // a file system that cannot say: find out by writing
  auto gib = [](uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(b) / (1ull << 30));
    return std::string(buf);
  };
  throw IoError("--out " + out_dir + " needs " + gib(bytes) + " but only " + gib(space.available) + " is free on " +
                dir.string() + "; free some space or choose a directory on another disk");
}

void remove_tree(const std::string& path) {
  auto remove_entry = [](const char* entry, const struct stat*, int, FTW*) {
    (void)::remove(entry);
    return 0;  // go on past what cannot be removed
  };
  // FTW_DEPTH visits a directory after its entries; FTW_PHYS does not follow links
  ::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(errno_message("cannot open " + path + " to sync"));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw IoError(errno_message("fsync " + path));
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) throw IoError("cannot write " + path + " (disk full or not writable?)");
}

void write_text_file_atomic(const std::string& path, const std::string& text, bool overwrite) {
  OutputFile out(path, overwrite);
  out.write(text.data(), text.size());
  out.commit();
}

OutputDirectory::OutputDirectory(const std::string& final_dir, bool overwrite, const std::vector<std::string>& inputs)
    : final_(final_dir), overwrite_(overwrite), inputs_(inputs) {
  if (final_dir.empty()) throw UsageError("--out is required");
  check_output_directory("--out", final_dir, overwrite, inputs);
  // "out/" and "out/." name the directory "out": drop the trailing separator or dot first, or the
  // temporary sibling would be made inside it
  fs::path out = fs::absolute(final_dir).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
  out = fs::weakly_canonical(out);
  fs::path parent = out.parent_path();
  std::error_code ec;
  std::string hidden_name = ".";  // built step by step: GCC 12's -Wstringop-overflow misfires on "." + string&&
  hidden_name += out.filename().string();
  hidden_name += ".tmp-" + std::to_string(::getpid());
  temp_ = (parent / hidden_name).string();
  remove_stale_temporaries(out.string());
  remove_tree(temp_);  // one of an earlier process with our PID
  if (!fs::create_directory(temp_, ec) || ec)
    throw IoError("--out " + final_dir + " is not writable: cannot create " + temp_ + ": " + ec.message());
  register_temporary(temp_);
  final_ = out.string();
}

OutputDirectory::~OutputDirectory() {
  if (committed_) return;
  remove_tree(temp_);
  unregister_temporary(temp_);
}

void OutputDirectory::commit() {
  for (const auto& entry : fs::directory_iterator(temp_))
    if (entry.is_regular_file()) fsync_path(entry.path().string());
  fsync_path(temp_);
  std::error_code ec;
  std::string trash;
  committed_ = true;  // from here on the temporary is either placed or kept, never silently removed
  if (fs::exists(fs::symlink_status(final_))) {
    // what is there now may have appeared, or changed, since the run began: check it again
    if (!overwrite_) keep_and_refuse(temp_, final_);
    try {
      check_output_directory("--out", final_, true, inputs_);
    } catch (const UsageError&) {
      keep_and_refuse(temp_, final_);
    }
    trash = final_ + ".old-" + std::to_string(::getpid());
    fs::rename(final_, trash, ec);
    if (ec) {
      committed_ = false;
      throw IoError("cannot move the old " + final_ + " aside: " + ec.message());
    }
  }
  if (!rename_no_replace(temp_, final_)) {
    keep_and_refuse(temp_, final_);
  }
  unregister_temporary(temp_);
  fsync_path(fs::path(final_).parent_path().string());
  if (!trash.empty()) remove_tree(trash);
}

}  // namespace enwanda
