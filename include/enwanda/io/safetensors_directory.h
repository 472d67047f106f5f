// A directory of safetensors: model.safetensors, or the shards listed in
// model.safetensors.index.json. Opened read-only; tensors are zero-copy views. It knows file
// names and tensors, not what a model makes of them (model/checkpoint.h does).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/io/safetensors.h"

namespace enwanda {

class SafetensorsDirectory {
 public:
  virtual ~SafetensorsDirectory() = default;

  const std::string& dir() const { return dir_; }
  // Shard file names (relative), in index order; a single entry when unsharded.
  const std::vector<std::string>& shard_names() const { return shard_names_; }
  bool sharded() const { return sharded_; }
  // All tensor names in (shard, data offset) order.
  const std::vector<std::string>& tensor_names() const { return tensor_names_; }
  const std::string& shard_of(const std::string& tensor) const;
  const SafetensorsFile& file_of(const std::string& tensor) const;
  const TensorInfo& info(const std::string& tensor) const;
  bool has(const std::string& tensor) const { return location_.count(tensor) != 0; }
  torch::Tensor tensor(const std::string& name) const;  // read-only view
  void release(const std::string& name) const { file_of(name).release(name); }
  void prefetch(const std::string& name) const { file_of(name).prefetch(name); }
  uint64_t total_bytes() const;
  // A 64-bit digest (16 hex digits) of the bytes of `names`, in order. Reads each tensor once.
  std::string bytes_digest(const std::vector<std::string>& names) const;

 protected:
  SafetensorsDirectory() = default;
  // Opens and validates the files of `dir`: every shard named by the index exists and holds the
  // tensors the index maps to it.
  void open_files(const std::string& dir);

 private:
  std::string dir_;
  bool sharded_ = false;
  std::vector<std::string> shard_names_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> files_;  // by shard name
  std::map<std::string, std::string> location_;                    // tensor -> shard name
  std::vector<std::string> tensor_names_;
};

}  // namespace enwanda
