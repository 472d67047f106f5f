// The LLaMA architecture's tensor names in a HuggingFace checkpoint.
#pragma once

#include <string>
#include <vector>

#include "enwanda/model/llama_config.h"

namespace enwanda {

// The seven linears pruned in every decoder layer, in checkpoint naming.
extern const std::vector<std::string> kLinearNames;  // self_attn.q_proj, ..., mlp.down_proj
std::string layer_tensor_name(int64_t layer, const std::string& suffix);  // model.layers.{i}.{suffix}.weight
std::string layer_bias_name(int64_t layer, const std::string& linear);     // model.layers.{i}.{linear}.bias
// Every tensor of layer i that the forward reads besides the seven linear weights, as the config
// implies them: the two norms, the biases, q_norm/k_norm.
std::vector<std::string> layer_parameter_names(const LlamaConfig& c, int64_t layer);

}  // namespace enwanda
