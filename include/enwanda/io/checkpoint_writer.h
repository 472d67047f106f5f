// Writes a checkpoint with the same layout as an input checkpoint: the same shard files,
// each tensor in the same shard with the same name, shape and dtype, an index with
// metadata.total_size, and config.json, generation_config.json and tokenizer files copied.
// Untouched tensors are copied byte for byte; replaced ones are cast to the input dtype.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/io/output_directory.h"
#include "enwanda/io/safetensors_directory.h"
#include "enwanda/io/safetensors.h"

namespace enwanda {

// The other files of the input directory that an output carries (config, tokenizer, chat template,
// licence, ...): every entry is checked now, so a symlink loop or an unreadable entry is named
// (InputError) before any work, and their bytes count in the free-space check.
std::vector<std::string> carried_files(const std::string& input_dir);
uint64_t carried_bytes(const std::string& input_dir);

class CheckpointWriter {
 public:
  // `inputs`: the run's other inputs (calibration, statistics), which --out must not replace.
  CheckpointWriter(std::shared_ptr<const SafetensorsDirectory> input, const std::string& out_dir, bool overwrite,
                   const std::map<std::string, std::string>& provenance, const std::vector<std::string>& inputs = {});

  void put(const std::string& name, const torch::Tensor& t);  // a changed tensor
  // t on the host in the input's dtype, contiguous: what put() writes without a cast.
  torch::Tensor as_stored(const std::string& name, const torch::Tensor& t) const;
  void copy(const std::string& name);                           // byte-for-byte from the input
  // Writes index, config, tokenizer files and `extra_files` (name -> JSON; enwanda_report.json
  // gains "files", every file of the output), then renames into place.
  void commit(const std::map<std::string, nlohmann::json>& extra_files = {});
  // A text file written at commit() instead of the input's file of that name (the pruned model's
  // README.md model card instead of the dense model's).
  void replace_carried(const std::string& name, const std::string& text) { replaced_[name] = text; }
  uint64_t bytes_written() const { return bytes_written_; }
  const std::string& temp_path() const { return out_.path(); }

 private:
  std::map<std::string, std::string> replaced_;  // replace_carried()
  std::shared_ptr<const SafetensorsDirectory> in_;
  OutputDirectory out_;
  std::map<std::string, std::unique_ptr<SafetensorsWriter>> shards_;
  uint64_t bytes_written_ = 0;
  torch::Tensor staging_;  // bytes of the largest tensor put so far (pinned once a CUDA tensor came)
};

}  // namespace enwanda
