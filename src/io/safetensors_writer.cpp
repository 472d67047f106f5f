#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/safetensors.h"

namespace enwanda {

namespace {
void write_all_at(int fd, const void* buf, size_t n, uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(errno_message("writing " + path));
    }
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}
}  // namespace

std::string SafetensorsWriter::encode_header(const std::vector<Entry>& entries,
                                             const std::map<std::string, std::string>& metadata,
                                             std::vector<uint64_t>* offsets) {
  nlohmann::ordered_json j;
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    j["__metadata__"] = m;
  }
  uint64_t offset = 0;
  offsets->clear();
  for (const auto& e : entries) {
    uint64_t numel = 1;
    for (auto d : e.shape) numel *= static_cast<uint64_t>(d);
    uint64_t nbytes = numel * dtype_size(e.dtype);
    j[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offsets->push_back(offset);
    offset += nbytes;
  }
  offsets->push_back(offset);
  std::string text = j.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text;
}

SafetensorsWriter::SafetensorsWriter(const std::string& path, const std::vector<Entry>& entries,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path) {
  std::vector<uint64_t> offsets;
  std::string header = encode_header(entries, metadata, &offsets);
  data_start_ = header.size();
  data_bytes_ = offsets.back();
  for (size_t i = 0; i < entries.size(); ++i) {
    ranges_[entries[i].name] = {offsets[i], offsets[i + 1] - offsets[i]};
    written_[entries[i].name] = offsets[i + 1] == offsets[i];
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(errno_message("cannot create " + path));
  write_all_at(fd_, header.data(), header.size(), 0, path_);
  if (::ftruncate(fd_, static_cast<off_t>(data_start_ + data_bytes_)) != 0)
    throw IoError(errno_message("cannot size " + path));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsWriter::write_bytes(const std::string& name, const void* bytes, size_t n) {
  auto it = ranges_.find(name);
  if (it == ranges_.end()) throw std::logic_error(path_ + ": tensor " + name + " was not declared");
  if (it->second.second != n)
    throw std::logic_error(path_ + ": tensor " + name + " has " + std::to_string(n) + " bytes, declared " +
                           std::to_string(it->second.second));
  write_all_at(fd_, bytes, n, data_start_ + it->second.first, path_);
  written_[name] = true;
}

void SafetensorsWriter::write(const std::string& name, const torch::Tensor& t) {
  auto c = t.to(torch::kCPU).contiguous();
  write_bytes(name, c.data_ptr(), c.numel() * c.element_size());
}

void SafetensorsWriter::finish() {
  for (const auto& [name, done] : written_)
    if (!done) throw std::logic_error(path_ + ": tensor " + name + " was never written");
  if (::fsync(fd_) != 0) throw IoError(errno_message("fsync " + path_));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw IoError(errno_message("closing " + path_));
  }
  fd_ = -1;
}

}  // namespace enwanda
