// A HuggingFace LLaMA checkpoint directory: config.json plus model.safetensors or shards
// listed in model.safetensors.index.json. Opened read-only; tensors are zero-copy views.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "enwanda/io/safetensors.h"
#include "enwanda/model/llama_config.h"

namespace enwanda {

// The seven linears pruned in every decoder layer, in checkpoint naming.
extern const std::vector<std::string> kLinearNames;  // self_attn.q_proj, ..., mlp.down_proj
std::string layer_tensor_name(int64_t layer, const std::string& suffix);  // model.layers.{i}.{suffix}.weight
std::string layer_bias_name(int64_t layer, const std::string& linear);     // model.layers.{i}.{linear}.bias
// Every tensor of layer i that the forward reads besides the seven linear weights, as the config
// implies them: the two norms, the biases, q_norm/k_norm.
std::vector<std::string> layer_parameter_names(const LlamaConfig& c, int64_t layer);

class Checkpoint {
 public:
  // Opens and validates: every shard named by the index exists and holds the tensors the
  // index maps to it; every tensor the config implies is present with the right shape.
  static std::shared_ptr<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const LlamaConfig& config() const { return config_; }
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
  Dtype weight_dtype() const;  // storage dtype of the decoder weights
  uint64_t total_bytes() const;
  // A 64-bit digest (16 hex digits) of the bytes of the seven linears of every layer, in order:
  // what identifies the weights that statistics were gathered on. Reads every linear once.
  std::string linear_weights_digest() const;

 private:
  void validate_shapes() const;
  std::string dir_;
  LlamaConfig config_;
  bool sharded_ = false;
  std::vector<std::string> shard_names_;
  std::map<std::string, std::shared_ptr<SafetensorsFile>> files_;  // by shard name
  std::map<std::string, std::string> location_;                    // tensor -> shard name
  std::vector<std::string> tensor_names_;
};

}  // namespace enwanda
