// The safetensors format: a memory-mapped, validating reader and a streaming writer.
// The reader refuses anything the reference reader refuses (parse_safetensors_header()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/io/safetensors_header.h"

namespace enwanda {

// F32/F16/BF16 map to torch; others throw (read them as raw bytes).
torch::ScalarType to_torch(Dtype d);
Dtype from_torch(torch::ScalarType t);

// Read-only memory map of one .safetensors file.
class SafetensorsFile : public std::enable_shared_from_this<SafetensorsFile> {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }
  const TensorInfo* find(const std::string& name) const;
  const TensorInfo& at(const std::string& name) const;  // throws InputError naming the file

  // The tensor's bytes inside the mapping.
  const uint8_t* data(const TensorInfo& t) const { return base_ + header_.data_start + t.begin; }
  // A tensor over the mapped bytes (read-only memory: clone() before modifying). Copies only when
  // the bytes are not aligned to the element size. Keeps the file mapped while alive.
  torch::Tensor tensor(const std::string& name) const;
  // Drops the tensor's resident pages (MADV_DONTNEED); they are re-read if touched again. Keeps
  // peak RSS independent of the number of layers when layers are streamed.
  void release(const std::string& name) const;
  // Asks the kernel to start reading the tensor's pages now (MADV_WILLNEED): no wait, no RSS.
  void prefetch(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;
};

// Writes one safetensors file whose tensor list is known up front; tensors may then be
// written in any order (positioned writes into the pre-sized file). finish() checks that
// every tensor was written and fsyncs.
class SafetensorsWriter {
 public:
  struct Entry {
    std::string name;
    Dtype dtype;
    std::vector<int64_t> shape;
  };
  SafetensorsWriter(const std::string& path, const std::vector<Entry>& entries,
                    const std::map<std::string, std::string>& metadata);
  ~SafetensorsWriter();

  // Serialised header (8-byte length + JSON padded with spaces to a multiple of 8).
  static std::string encode_header(const std::vector<Entry>& entries,
                                   const std::map<std::string, std::string>& metadata,
                                   std::vector<uint64_t>* offsets);

  void write(const std::string& name, const torch::Tensor& t);  // t: contiguous, dtype as declared
  void write_bytes(const std::string& name, const void* bytes, size_t n);
  void finish();
  uint64_t total_data_bytes() const { return data_bytes_; }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t data_start_ = 0;
  uint64_t data_bytes_ = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> ranges_;  // name -> (offset, nbytes)
  std::map<std::string, bool> written_;
};

}  // namespace enwanda
