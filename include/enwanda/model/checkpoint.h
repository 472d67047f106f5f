// A HuggingFace LLaMA checkpoint directory: config.json plus model.safetensors or shards listed
// in model.safetensors.index.json (io/safetensors_directory.h), checked against the config.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "enwanda/io/safetensors_directory.h"
#include "enwanda/model/llama_config.h"
#include "enwanda/model/tensor_names.h"

namespace enwanda {

class Checkpoint : public SafetensorsDirectory {
 public:
  // Opens and validates: every shard named by the index exists and holds the tensors the
  // index maps to it; every tensor the config implies is present with the right shape.
  static std::shared_ptr<Checkpoint> open(const std::string& dir);

  const LlamaConfig& config() const { return config_; }
  Dtype weight_dtype() const;  // storage dtype of the decoder weights
  // A 64-bit digest (16 hex digits) of the bytes of the pruned linears of every layer, in order:
  // what identifies the weights that statistics were gathered on. Reads every linear once.
  std::string linear_weights_digest() const;

 private:
  void validate_shapes() const;
  LlamaConfig config_;
};

// Tensors of the decoder layers that the forward does not read (older saves'
// rotary_emb.inv_freq, say): all of them, and those of each layer below num_hidden_layers.
struct UnusedLayerTensors {
  std::vector<std::string> all;
  std::vector<std::vector<std::string>> of_layer;  // [num_hidden_layers]
};
UnusedLayerTensors unused_layer_tensors(const Checkpoint& ck);

}  // namespace enwanda
